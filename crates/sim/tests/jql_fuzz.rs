//! The JQL parser never panics, whatever it is given.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_any_string(s in "\\PC*") {
        let _ = cairn_sim::jql::parse(&s);
    }

    #[test]
    fn parser_never_panics_on_jql_like_input(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("project"), Just("="), Just("!="), Just("in"), Just("not"), Just("("),
                Just(")"), Just(","), Just("AND"), Just("OR"), Just("\""), Just("'"), Just("cf["),
                Just("]"), Just("10016"), Just("is"), Just("EMPTY"), Just("ORDER BY"), Just("DESC"),
                Just("currentUser()"), Just("-7d"), Just("~"), Just(">="), Just("\\"), Just("%"),
                Just("startOfDay("), Just("OPS-1"), Just("\u{e9}"), Just(" "),
            ],
            0..24,
        )
    ) {
        let q = parts.concat();
        match cairn_sim::jql::parse(&q) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
    }
}
