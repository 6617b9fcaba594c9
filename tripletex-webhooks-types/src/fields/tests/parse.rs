use crate::fields::{FieldSelection, FieldsFilter, FieldsParseErrorKind as Kind, MAX_DEPTH};

fn parse(input: &str) -> FieldsFilter {
    FieldsFilter::parse(input).unwrap_or_else(|err| panic!("{input:?}: {err}"))
}

/// Parses and prints the canonical form.
fn canon(input: &str) -> String {
    parse(input).to_string()
}

fn error(input: &str) -> (usize, Kind) {
    let err = FieldsFilter::parse(input).expect_err(input);
    (err.position(), err.kind().clone())
}

#[test]
fn empty_and_whitespace_are_the_default_filter() {
    assert_eq!(parse(""), FieldsFilter::default());
    assert_eq!(parse(" \t\n"), FieldsFilter::default());
    assert!(parse("").is_empty());
    assert_eq!(canon(""), "");
}

#[test]
fn simple_lists() {
    assert_eq!(canon("project,activity,hours"), "project,activity,hours");
    assert_eq!(canon("*"), "*");
    assert_eq!(canon("*,changes"), "*,changes");
    assert_eq!(
        canon("numberPretty,order_lines2"),
        "numberPretty,order_lines2"
    );
}

#[test]
fn whitespace_around_tokens() {
    assert_eq!(canon("*, document()"), "*,document(*)");
    assert_eq!(canon("  a ( b , c ( * ) ) ,d  "), "a(b,c(*)),d");
}

#[test]
fn empty_parentheses_mean_star() {
    assert_eq!(parse("document()"), parse("document(*)"));
    assert_eq!(parse("document( )"), parse("document(*)"));
}

#[test]
fn nested_structure_is_inspectable() {
    let filter = parse("*,orderLines(product(name),count),changes");
    assert_eq!(filter.len(), 3);
    assert!(filter.includes_all());
    assert!(filter.includes("customer"));
    assert!(filter.includes("changes"));
    let lines = filter
        .get("orderLines")
        .and_then(FieldSelection::sub)
        .unwrap();
    assert!(!lines.includes_all());
    assert!(!lines.includes("id"));
    let names: Vec<_> = lines.iter().filter_map(FieldSelection::name).collect();
    assert_eq!(names, ["product", "count"]);
    assert_eq!(lines.get("product").unwrap().to_string(), "product(name)");
    assert!(filter.get("missing").is_none());
    assert_eq!(filter.iter().next(), Some(&FieldSelection::All));
}

#[test]
fn star_never_implies_changes() {
    assert!(!parse("*").includes("changes"));
    assert!(!parse("").includes("changes"));
    assert!(parse("").includes("anything"));
}

#[test]
fn duplicates_are_merged() {
    assert_eq!(canon("*,a,*"), "*,a");
    assert_eq!(canon("a,a"), "a");
    assert_eq!(canon("a,a(b)"), "a(b)");
    assert_eq!(canon("a(b),a"), "a(b)");
    assert_eq!(canon("a(b),c,a(c,b)"), "a(b,c),c");
    assert_eq!(canon("a(),a(b)"), "a(*,b)");
    assert_eq!(canon("a(x(y)),a(x(z))"), "a(x(y,z))");
    assert_eq!(parse("a,a(b)"), parse("a(b)"));
}

#[test]
fn display_round_trips() {
    for input in ["", "*", "a(b(c(d))),e", "*,a(*),changes", "x(), y ( z )"] {
        let filter = parse(input);
        assert_eq!(parse(&filter.to_string()), filter, "{input:?}");
    }
}

#[test]
fn missing_field_name_errors() {
    assert_eq!(error("a,,b"), (2, Kind::MissingFieldName(Some(','))));
    assert_eq!(error(",a"), (0, Kind::MissingFieldName(Some(','))));
    assert_eq!(error("a,"), (2, Kind::MissingFieldName(None)));
    assert_eq!(error("a, "), (3, Kind::MissingFieldName(None)));
    assert_eq!(error("(a)"), (0, Kind::MissingFieldName(Some('('))));
    assert_eq!(error("a,(b)"), (2, Kind::MissingFieldName(Some('('))));
    assert_eq!(error("a(b,)"), (4, Kind::MissingFieldName(Some(')'))));
    assert_eq!(error("a(,b)"), (2, Kind::MissingFieldName(Some(','))));
}

#[test]
fn unexpected_character_errors() {
    assert_eq!(error("a b"), (2, Kind::UnexpectedChar('b')));
    assert_eq!(error("a-b"), (1, Kind::UnexpectedChar('-')));
    assert_eq!(error("project.name"), (7, Kind::UnexpectedChar('.')));
    assert_eq!(error("* a"), (2, Kind::UnexpectedChar('a')));
    assert_eq!(error("a(b)c"), (4, Kind::UnexpectedChar('c')));
}

#[test]
fn parenthesis_errors() {
    assert_eq!(error("a(b"), (1, Kind::UnclosedParenthesis));
    assert_eq!(error("a("), (1, Kind::UnclosedParenthesis));
    assert_eq!(error("a(b(c)"), (1, Kind::UnclosedParenthesis));
    assert_eq!(error("a(b(c"), (3, Kind::UnclosedParenthesis));
    assert_eq!(error(")"), (0, Kind::UnmatchedParenthesis));
    assert_eq!(error("a)"), (1, Kind::UnmatchedParenthesis));
    assert_eq!(error("a(b))"), (4, Kind::UnmatchedParenthesis));
    assert_eq!(error("a,)"), (2, Kind::UnmatchedParenthesis));
    assert_eq!(error("*(a)"), (1, Kind::SubSelectionOnStar));
    assert_eq!(error("a( * ()"), (5, Kind::SubSelectionOnStar));
}

#[test]
fn nesting_limit() {
    let at_limit = format!("{}b{}", "a(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(parse(&at_limit).to_string(), at_limit);
    let over = format!(
        "{}b{}",
        "a(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let position = 2 * MAX_DEPTH + 1;
    assert_eq!(error(&over), (position, Kind::TooDeep { limit: MAX_DEPTH }));
}

#[test]
fn multibyte_input_reports_byte_offsets() {
    assert_eq!(error("é"), (0, Kind::MissingFieldName(Some('é'))));
    assert_eq!(error("a,ø"), (2, Kind::MissingFieldName(Some('ø'))));
    assert_eq!(
        error("a(b)\u{1F600}"),
        (4, Kind::UnexpectedChar('\u{1F600}'))
    );
    assert_eq!(
        error("a(\u{1F600}"),
        (2, Kind::MissingFieldName(Some('\u{1F600}')))
    );
    // Non-ASCII whitespace is not whitespace in this grammar.
    assert_eq!(
        error("a,\u{a0}b"),
        (2, Kind::MissingFieldName(Some('\u{a0}')))
    );
}

#[test]
fn error_display() {
    let err = FieldsFilter::parse("a,,b").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid fields filter at position 2: expected a field name, found ','"
    );
    let err = FieldsFilter::parse("a,").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid fields filter at position 2: expected a field name, found end of input"
    );
    let err = FieldsFilter::parse("a(b").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid fields filter at position 1: unclosed '('"
    );
}

#[test]
fn from_str_and_serde() {
    let filter: FieldsFilter = "*, changes".parse().unwrap();
    assert_eq!(serde_json::to_value(&filter).unwrap(), "*,changes");
    let back: FieldsFilter = serde_json::from_str("\"*, document()\"").unwrap();
    assert_eq!(back.to_string(), "*,document(*)");
    assert!(serde_json::from_str::<FieldsFilter>("\"a,,b\"").is_err());
}
