//! Hand-written cases: the constructs issue text is made of and the places converters
//! usually get wrong.

use cairn_markup::{
    Block, Document, Error, Inline, Mark, adf, adf_to_markdown, markdown, markdown_to_adf,
    markdown_to_wiki, wiki, wiki_to_markdown,
};
use serde_json::{Value, json};

/// Every text node's text and marks, in order, through the whole document.
fn texts(doc: &Document) -> Vec<(String, Vec<Mark>)> {
    fn inl(i: &[Inline], out: &mut Vec<(String, Vec<Mark>)>) {
        for x in i {
            if let Inline::Text { text, marks } = x {
                out.push((text.clone(), marks.clone()));
            }
        }
    }
    fn blocks(bs: &[Block], out: &mut Vec<(String, Vec<Mark>)>) {
        for b in bs {
            match b {
                Block::Paragraph(i) | Block::Heading { content: i, .. } => inl(i, out),
                Block::List(l) => l.items.iter().for_each(|it| blocks(&it.content, out)),
                Block::Quote(c)
                | Block::Panel { content: c, .. }
                | Block::Expand { content: c, .. } => blocks(c, out),
                Block::Table(t) => t
                    .rows
                    .iter()
                    .flatten()
                    .for_each(|c| blocks(&c.content, out)),
                Block::CodeBlock { text, .. } => out.push((text.clone(), vec![Mark::Code])),
                Block::Rule | Block::Raw(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    blocks(&doc.blocks, &mut out);
    out
}

fn md_wiki_md(md: &str) -> String {
    wiki_to_markdown(&markdown_to_wiki(md))
}

#[test]
fn code_blocks_keep_hashes_braces_stars_and_code_macros() {
    let body = "# not a heading\nfn f() { *p = 1; }\n{code}\n{noformat}\n* not a list\n```";
    let md = format!("````rust\n{body}\n````\n");
    let doc = markdown::parse(&md);
    assert_eq!(
        doc.blocks,
        vec![Block::CodeBlock {
            language: Some("rust".into()),
            text: body.into()
        }]
    );
    // ADF holds it verbatim.
    let adf = markdown_to_adf(&md);
    assert_eq!(adf["content"][0]["content"][0]["text"], json!(body));
    // Wiki: `rust` is not a Jira language, so {noformat}; the macros inside do not close it.
    let w = markdown_to_wiki(&md);
    assert!(w.starts_with("{noformat}"), "{w}");
    assert_eq!(
        wiki::parse(&w).blocks,
        vec![Block::CodeBlock {
            language: None,
            text: body.into()
        }]
    );
    // A Jira language keeps {code:…}; `{code}` inside still does not close it.
    let java = format!("````java\n{body}\n````\n");
    let w = markdown_to_wiki(&java);
    assert!(w.starts_with("{code:java}"), "{w}");
    assert_eq!(
        wiki::parse(&w).blocks,
        vec![Block::CodeBlock {
            language: Some("java".into()),
            text: body.into()
        }]
    );
    // And back to Markdown with a fence longer than the ``` inside.
    let back = md_wiki_md(&java);
    assert_eq!(
        markdown::parse(&back).blocks,
        vec![Block::CodeBlock {
            language: Some("java".into()),
            text: body.into()
        }]
    );
}

#[test]
fn nested_lists_three_levels_mixed() {
    let md = "1. one\n   - bullet\n     1. deep\n     2. deeper\n   - bullet two\n2. two\n";
    let adf = markdown_to_adf(md);
    assert_eq!(adf["content"][0]["type"], "orderedList");
    let level2 = &adf["content"][0]["content"][0]["content"][1];
    assert_eq!(level2["type"], "bulletList");
    let level3 = &level2["content"][0]["content"][1];
    assert_eq!(level3["type"], "orderedList");
    assert_eq!(
        level3["content"][1]["content"][0]["content"][0]["text"],
        "deeper"
    );
    let w = markdown_to_wiki(md);
    assert_eq!(
        w,
        "# one\n#* bullet\n#*# deep\n#*# deeper\n#* bullet two\n# two"
    );
    assert_eq!(markdown::parse(&md_wiki_md(md)), markdown::parse(md));
    assert_eq!(
        markdown::parse(&adf_to_markdown(&adf).expect("ours")),
        markdown::parse(md)
    );
}

#[test]
fn tables_keep_alignment_and_pipes_in_cells() {
    let md = "| Left | Mid | Right |\n| :--- | :---: | ---: |\n| a \\| b | `x\\|y` | **c** |\n";
    let doc = markdown::parse(md);
    let Block::Table(t) = &doc.blocks[0] else {
        panic!("{doc:?}")
    };
    use cairn_markup::Alignment::*;
    assert_eq!(t.alignments, vec![Left, Center, Right]);
    assert!(t.rows[0].iter().all(|c| c.header) && t.rows[1].iter().all(|c| !c.header));
    assert_eq!(
        t.rows[1][0].content,
        vec![Block::Paragraph(vec![Inline::text("a | b")])]
    );
    assert_eq!(
        t.rows[1][1].content,
        vec![Block::Paragraph(vec![Inline::Text {
            text: "x|y".into(),
            marks: vec![Mark::Code]
        }])]
    );
    // Markdown keeps the alignment.
    assert_eq!(markdown::parse(&markdown::write(&doc)), doc);
    // Wiki escapes the pipes, and the cells read back.
    let w = markdown_to_wiki(md);
    assert_eq!(w, "||Left||Mid||Right||\n|a \\| b|{{x\\|y}}|*c*|");
    let back = wiki::parse(&w);
    let Block::Table(t2) = &back.blocks[0] else {
        panic!("{back:?}")
    };
    assert_eq!(t2.rows[1], t.rows[1]);
}

#[test]
fn links_inside_quotes() {
    let md = "> See [the RFC](https://example.com/rfc?a=1&b=2) and <https://example.com/auto>.\n";
    let adf = markdown_to_adf(md);
    let p = &adf["content"][0]["content"][0]["content"];
    assert_eq!(adf["content"][0]["type"], "blockquote");
    assert_eq!(
        p[1]["marks"][0]["attrs"]["href"],
        "https://example.com/rfc?a=1&b=2"
    );
    assert_eq!(p[3]["text"], "https://example.com/auto");
    let w = markdown_to_wiki(md);
    assert_eq!(
        w,
        "{quote}See [the RFC|https://example.com/rfc?a=1&b=2] and https://example.com/auto.{quote}"
    );
    assert_eq!(markdown::parse(&md_wiki_md(md)), markdown::parse(md));
    assert_eq!(adf_to_markdown(&adf).expect("ours"), md);
}

#[test]
fn hyphenated_words_never_become_strikethrough_in_wiki() {
    let md = "A well-known, up-to-date approach: git log --oneline -n 5, ls -la.\n\n\
              Dashes: -not-struck- and -also not- and x - y and a -- b --- c.\n\n- --flag as a list item\n";
    let w = markdown_to_wiki(md);
    let back = wiki::parse(&w);
    let all = texts(&back);
    assert!(
        all.iter().all(|(_, m)| !m.contains(&Mark::Strike)),
        "strike in {w}: {all:?}"
    );
    let joined: String = all.iter().map(|(t, _)| t.as_str()).collect();
    for s in [
        "well-known",
        "up-to-date",
        "--oneline",
        "-la",
        "-not-struck-",
        "-also not-",
        "x - y",
        "a -- b --- c",
        "--flag",
    ] {
        assert!(joined.contains(s), "{s:?} lost in {w:?} → {joined:?}");
    }
    assert!(
        w.contains("well-known") && w.contains("up-to-date"),
        "words escaped needlessly: {w}"
    );
    assert_eq!(md_wiki_md(md), md);
}

#[test]
fn crlf_input_reads_as_lf() {
    let lf = "# Title\n\nLine one\nline two\n\n- a\n- b\n";
    assert_eq!(
        markdown::parse(&lf.replace('\n', "\r\n")),
        markdown::parse(lf)
    );
    let w = "h1. Title\n\nLine one\nline two\n\n* a\n* b";
    assert_eq!(wiki::parse(&w.replace('\n', "\r\n")), wiki::parse(w));
    assert!(!markdown_to_wiki(&lf.replace('\n', "\r\n")).contains('\r'));
}

#[test]
fn empty_and_whitespace_only_input() {
    for s in ["", "   \n\t\n  \n", "\r\n"] {
        assert_eq!(markdown::parse(s), Document::default(), "{s:?}");
        assert_eq!(wiki::parse(s), Document::default(), "{s:?}");
        assert_eq!(
            markdown_to_adf(s),
            json!({"version": 1, "type": "doc", "content": []})
        );
        assert_eq!(markdown_to_wiki(s), "");
    }
    assert_eq!(markdown::write(&Document::default()), "");
    assert_eq!(
        adf_to_markdown(&json!({"type": "doc", "version": 1, "content": []})).expect("doc"),
        ""
    );
}

#[test]
fn backslash_escapes_stay_literal() {
    let md = "\\*not bold\\* and \\_not italic\\_ and \\`not code\\`\n\n\\# not a heading\n\n\\- not a list item\n\n\
              \\[not a link\\](https://example.com) and a literal backslash \\\\ here.\n";
    let doc = markdown::parse(md);
    let all: Vec<String> = texts(&doc)
        .into_iter()
        .map(|(t, m)| {
            assert!(m.is_empty(), "{t:?} has marks {m:?}");
            t
        })
        .collect();
    assert_eq!(
        all,
        vec![
            "*not bold* and _not italic_ and `not code`",
            "# not a heading",
            "- not a list item",
            "[not a link](https://example.com) and a literal backslash \\ here.",
        ]
    );
    assert_eq!(markdown::parse(&markdown::write(&doc)), doc);
    assert_eq!(wiki::parse(&wiki::write(&doc)), doc);
    // Wiki's own escapes.
    let w = wiki::parse("\\*not bold\\* and \\{code} and C:&#92;Users");
    assert_eq!(
        texts(&w),
        vec![("*not bold* and {code} and C:\\Users".to_owned(), vec![])]
    );
}

#[test]
fn emoji_shortcodes() {
    let doc = markdown::parse("Thanks :smile: :+1:! Not: 10:30:45, a:b:c, http://x.io:8080/p\n");
    let Block::Paragraph(p) = &doc.blocks[0] else {
        panic!()
    };
    let emoji: Vec<&str> = p
        .iter()
        .filter_map(|i| match i {
            Inline::Emoji { short_name, .. } => Some(short_name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(emoji, vec![":smile:", ":+1:"]);
    assert!(
        texts(&doc)
            .iter()
            .any(|(t, _)| t.contains("10:30:45, a:b:c, http://x.io:8080/p"))
    );
    // ADF emoji → Markdown shortcode → the same ADF.
    let adf = markdown_to_adf(":rocket: launch\n");
    assert_eq!(
        adf["content"][0]["content"][0],
        json!({"type": "emoji", "attrs": {"shortName": ":rocket:", "id": "1f680", "text": "🚀"}})
    );
    assert_eq!(adf_to_markdown(&adf).expect("ours"), ":rocket: launch\n");
    // Jira emoticons become the emoji Atlassian uses, and are written back as emoticons.
    let w = wiki::parse("ok (y) (/) :)");
    assert_eq!(wiki::write(&w), "ok (y) (/) :)");
    // A shortcode typed as text in Jira stays text in GitLab.
    assert_eq!(wiki_to_markdown("use :smile: here"), "use \\:smile: here\n");
}

#[test]
fn gitlab_references_stay_plain_text() {
    let md = "Closes #12, see !3 and @jane.doe, label ~bug, milestone %\"v1\" and &5.\n";
    let doc = markdown::parse(md);
    assert_eq!(texts(&doc), vec![(md.trim_end().to_owned(), vec![])]);
    assert_eq!(markdown::write(&doc), md);
    assert_eq!(markdown_to_wiki(md), md.trim_end());
}

/// ADF constructs Markdown has no syntax for come back as the same ADF.
#[test]
fn panels_colours_mentions_tasks_and_unknown_nodes_survive_markdown() {
    let mut content = Vec::new();
    for kind in ["info", "note", "warning", "success", "error"] {
        content.push(json!({"type": "panel", "attrs": {"panelType": kind}, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": format!("{kind} panel")}]}]}));
    }
    content.push(json!({"type": "paragraph", "content": [
        {"type": "text", "text": "red", "marks": [{"type": "textColor", "attrs": {"color": "#ff5630"}}]},
        {"type": "text", "text": " and "},
        {"type": "mention", "attrs": {"id": "accountid:557058:f58131cb", "text": "@Jane Doe", "accessLevel": ""}},
        {"type": "text", "text": " and "},
        {"type": "mention", "attrs": {"id": "accountid:5b10a284", "text": "", "accessLevel": ""}},
        {"type": "text", "text": " "},
        {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue", "localId": "x"}},
        {"type": "text", "text": " "},
        {"type": "text", "text": "under", "marks": [{"type": "underline"}]},
        {"type": "text", "text": "sub", "marks": [{"type": "subsup", "attrs": {"type": "sub"}}]},
    ]}));
    content.push(json!({"type": "taskList", "attrs": {"localId": ""}, "content": [
        {"type": "taskItem", "attrs": {"localId": "", "state": "DONE"}, "content": [{"type": "text", "text": "done"}]},
        {"type": "taskItem", "attrs": {"localId": "", "state": "TODO"}, "content": [{"type": "text", "text": "todo"}]},
    ]}));
    content.push(json!({"type": "expand", "attrs": {"title": "Logs <1>"}, "content": [
        {"type": "codeBlock", "attrs": {"language": "text"}, "content": [{"type": "text", "text": "line"}]}]}));
    content.push(json!({"type": "decisionList", "attrs": {"localId": "d"}, "content": []}));
    let doc = json!({"version": 1, "type": "doc", "content": content});
    let md = adf_to_markdown(&doc).expect("valid");
    assert!(
        md.contains("> [!note]\n> info panel") && md.contains("> [!caution]"),
        "{md}"
    );
    assert!(md.contains("- [x] done\n- [ ] todo"), "{md}");
    assert!(
        md.contains("<details><summary>Logs &lt;1&gt;</summary>"),
        "{md}"
    );
    assert_eq!(markdown_to_adf(&md), doc, "markdown was:\n{md}");
}

#[test]
fn panels_colours_mentions_and_tasks_survive_wiki() {
    let doc = json!({"version": 1, "type": "doc", "content": [
        {"type": "panel", "attrs": {"panelType": "success"}, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "ok"}]}]},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "red", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}]},
            {"type": "text", "text": " "},
            {"type": "mention", "attrs": {"id": "accountid:5b10a284", "text": "", "accessLevel": ""}}]},
        {"type": "taskList", "attrs": {"localId": ""}, "content": [
            {"type": "taskItem", "attrs": {"localId": "", "state": "DONE"}, "content": [{"type": "text", "text": "done"}]}]},
    ]});
    let w = wiki::write(&adf::parse(&doc).expect("valid"));
    assert_eq!(
        w,
        "{panel:bgColor=#e3fcef}\nok\n{panel}\n\n{color:#ff0000}red{color} [~accountid:5b10a284]\n\n* [x] done"
    );
    assert_eq!(adf::write(&wiki::parse(&w)), doc);
}

#[test]
fn adf_that_is_not_a_document_is_an_error() {
    assert!(matches!(adf::parse_str("not json"), Err(Error::Json(_))));
    assert!(matches!(adf::parse(&json!([1, 2])), Err(Error::NotAdf(_))));
    assert!(matches!(
        adf::parse(&json!({"type": "paragraph", "content": []})),
        Err(Error::NotAdf(_))
    ));
    assert!(matches!(
        adf::parse(&json!({"type": "doc", "content": "x"})),
        Err(Error::NotAdf(_))
    ));
    assert!(adf_to_markdown(&Value::Null).is_err());
    // A doc without content is an empty document.
    assert_eq!(
        adf::parse(&json!({"type": "doc"})).expect("doc"),
        Document::default()
    );
}

#[test]
fn nested_quotes_survive_wiki() {
    let md = "> outer\n>\n> > inner *quote*\n";
    let w = markdown_to_wiki(md);
    assert_eq!(w, "{quote}outer\n\nbq. inner _quote_{quote}");
    assert_eq!(wiki_to_markdown(&w), md);
    // ADF has no quote in a quote: the inner one's text joins the outer quote (Atlassian
    // drops the whole quote).
    let adf = markdown_to_adf(md);
    assert_eq!(adf["content"][0]["type"], "blockquote");
    assert_eq!(adf["content"][0]["content"][1]["type"], "paragraph");
    assert_eq!(
        adf_to_markdown(&adf).expect("ours"),
        "> outer\n>\n> inner *quote*\n"
    );
}

/// What ADF does not allow where Markdown put it is reshaped, not dropped and not sent
/// invalid (Jira refuses the whole document).
#[test]
fn markdown_nesting_adf_cannot_hold_is_reshaped() {
    let md = "- item\n\n  > quoted in a list\n  >\n  > ## heading in a quote\n\n  | a | b |\n  | --- | --- |\n  | 1 | 2 |\n\n> [!note]\n> > quote in a panel\n";
    let adf = markdown_to_adf(md);
    let item = &adf["content"][0]["content"][0]["content"];
    let types: Vec<&str> = item
        .as_array()
        .expect("item")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert_eq!(
        types,
        vec![
            "paragraph",
            "paragraph",
            "paragraph",
            "paragraph",
            "paragraph"
        ]
    );
    assert_eq!(
        item[2]["content"][0],
        json!({"type": "text", "text": "heading in a quote", "marks": [{"type": "strong"}]})
    );
    assert_eq!(
        item[4]["content"],
        json!([{"type": "text", "text": "1 | 2"}])
    );
    assert_eq!(adf["content"][1]["type"], "panel");
    assert_eq!(adf["content"][1]["content"][0]["type"], "paragraph");
    // Stable from there on.
    let md2 = adf_to_markdown(&adf).expect("ours");
    assert_eq!(markdown_to_adf(&md2), adf);
}
