fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let input = std::fs::read_to_string("/tmp/dbg_in.txt").unwrap();
    match mode.as_str() {
        "mdadf" => {
            let a = cairn_markup::markdown_to_adf(&input);
            println!("ADF1: {a}");
            let md = cairn_markup::adf_to_markdown(&a).unwrap();
            println!("MD1: {md:?}");
            let a2 = cairn_markup::markdown_to_adf(&md);
            println!("ADF2: {a2}");
            println!("MD2: {:?}", cairn_markup::adf_to_markdown(&a2).unwrap());
        }
        "mdwiki" => {
            let w = cairn_markup::markdown_to_wiki(&input);
            println!("W1: {w:?}");
            let md = cairn_markup::wiki_to_markdown(&w);
            println!("MD1: {md:?}");
            let w2 = cairn_markup::markdown_to_wiki(&md);
            println!("W2: {w2:?}");
            println!("MD2: {:?}", cairn_markup::wiki_to_markdown(&w2));
        }
        "wikiadf" => {
            let d = cairn_markup::wiki::parse(&input);
            println!("DOC1: {d:?}");
            let a = cairn_markup::adf::write(&d);
            let w = cairn_markup::wiki::write(&cairn_markup::adf::parse(&a).unwrap());
            println!("W1: {w:?}");
            let d2 = cairn_markup::wiki::parse(&w);
            println!("DOC2: {d2:?}");
            println!("W2: {:?}", cairn_markup::wiki::write(&d2));
        }
        "md" => println!("{:#?}", cairn_markup::markdown::parse(&input)),
        "wiki" => println!("{:#?}", cairn_markup::wiki::parse(&input)),
        _ => {}
    }
}
