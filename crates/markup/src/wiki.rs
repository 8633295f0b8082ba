//! Jira wiki markup (Jira Data Center / Server, REST v2): a hand-written parser and writer.
//!
//! No maintained Rust crate reads or writes Jira wiki markup (the one reference parser
//! is pandoc's Haskell `jira-wiki-markup`), so both directions are ours. The parser
//! follows what Jira renders and Atlassian's own converter does (emoticons, `--` dashes,
//! newline = line break, `{code}` defaults to Java); the writer escapes only what the
//! parser would read as markup, and checks each paragraph by parsing it back.

pub(crate) mod parse;
mod write;

pub use parse::parse;
pub use write::write;

/// Languages Jira's `{code}` macro highlights; other code blocks are written as `{noformat}`
/// (Jira shows an error box for an unknown language).
const CODE_LANGUAGES: &[&str] = &[
    "actionscript",
    "ada",
    "applescript",
    "bash",
    "c",
    "c#",
    "c++",
    "cpp",
    "css",
    "erlang",
    "go",
    "groovy",
    "haskell",
    "html",
    "java",
    "javascript",
    "js",
    "json",
    "lua",
    "none",
    "nyan",
    "objc",
    "perl",
    "php",
    "python",
    "r",
    "rainbow",
    "ruby",
    "scala",
    "sh",
    "sql",
    "swift",
    "visualbasic",
    "xml",
    "yaml",
];

/// Jira's emoticons and the ADF emoji Atlassian's converter makes of them
/// (wiki text, short name, id, text).
const EMOTICONS: &[(&str, &str, &str, &str)] = &[
    (":)", ":slight_smile:", "1f642", "\u{1f642}"),
    (":(", ":disappointed:", "1f61e", "\u{1f61e}"),
    (";)", ":wink:", "1f609", "\u{1f609}"),
    (":D", ":smiley:", "1f603", "\u{1f603}"),
    (":P", ":stuck_out_tongue:", "1f61b", "\u{1f61b}"),
    (":p", ":stuck_out_tongue:", "1f61b", "\u{1f61b}"),
    ("(y)", ":thumbsup:", "1f44d", "\u{1f44d}"),
    ("(n)", ":thumbsdown:", "1f44e", "\u{1f44e}"),
    ("(i)", ":info:", "atlassian-info", ":info:"),
    (
        "(/)",
        ":check_mark:",
        "atlassian-check_mark",
        ":check_mark:",
    ),
    (
        "(x)",
        ":cross_mark:",
        "atlassian-cross_mark",
        ":cross_mark:",
    ),
    ("(!)", ":warning:", "atlassian-warning", ":warning:"),
    ("(+)", ":plus:", "atlassian-plus", ":plus:"),
    ("(-)", ":minus:", "atlassian-minus", ":minus:"),
    ("(?)", ":question:", "atlassian-question_mark", ":question:"),
    (
        "(on)",
        ":light_bulb_on:",
        "atlassian-light_bulb_on",
        ":light_bulb_on:",
    ),
    (
        "(off)",
        ":light_bulb_off:",
        "atlassian-light_bulb_off",
        ":light_bulb_off:",
    ),
    (
        "(*)",
        ":yellow_star:",
        "atlassian-yellow_star",
        ":yellow_star:",
    ),
    ("(*r)", ":red_star:", "atlassian-red_star", ":red_star:"),
    (
        "(*g)",
        ":green_star:",
        "atlassian-green_star",
        ":green_star:",
    ),
    ("(*b)", ":blue_star:", "atlassian-blue_star", ":blue_star:"),
    (
        "(*y)",
        ":yellow_star:",
        "atlassian-yellow_star",
        ":yellow_star:",
    ),
    ("(flag)", ":flag_on:", "atlassian-flag_on", ":flag_on:"),
    (
        "(flagoff)",
        ":flag_off:",
        "atlassian-flag_off",
        ":flag_off:",
    ),
];

/// Panel background colours Atlassian writes per ADF panel type.
const PANEL_COLORS: &[(crate::PanelKind, &str)] = &[
    (crate::PanelKind::Info, "#deebff"),
    (crate::PanelKind::Note, "#eae6ff"),
    (crate::PanelKind::Success, "#e3fcef"),
    (crate::PanelKind::Warning, "#fffae6"),
    (crate::PanelKind::Error, "#ffebe6"),
];

/// Zero-width space the writer puts into `{code}` / `{noformat}` inside a code block's
/// body so the block is not closed early; the parser takes it out again.
const ZWSP: char = '\u{200b}';
