//! JQL: a recursive-descent parser and an evaluator over the simulated Jira.
//!
//! Syntax errors carry Jira's wording and the 1-based position of the
//! offending token, so clients see the same `errorMessages` as from Jira.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::model::{Jira, JiraIssue};

/// A JQL error; `syntax` errors get Jira's "Error in the JQL Query: " prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JqlError {
    /// Full message as Jira words it.
    pub message: String,
}

impl JqlError {
    fn syntax(msg: impl std::fmt::Display, pos: Option<(usize, usize)>) -> JqlError {
        let message = match pos {
            Some((line, col)) => {
                format!("Error in the JQL Query: {msg} (line {line}, character {col})")
            }
            None => format!("Error in the JQL Query: {msg}"),
        };
        JqlError { message }
    }
    fn semantic(msg: impl Into<String>) -> JqlError {
        JqlError {
            message: msg.into(),
        }
    }
}

const VALID_OPS: &str = "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.";

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted word (field, value, keyword or function name).
    Word(String),
    /// A quoted string.
    Str(String),
    LParen,
    RParen,
    Comma,
    LBracket,
    RBracket,
    Op(&'static str),
    AndSym,
    OrSym,
    Not,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Char offset of the token start.
    at: usize,
    /// The token as written.
    text: String,
}

fn line_col(src: &[char], at: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for c in src.iter().take(at) {
        if *c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fn is_reserved(c: char) -> bool {
    matches!(
        c,
        '%' | '^' | '$' | '#' | '?' | ';' | '*' | '+' | '{' | '}' | '\\' | '`'
    )
}

fn is_word_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '(' | ')' | ',' | '=' | '!' | '<' | '>' | '~' | '[' | ']' | '&' | '|'
        )
        || is_reserved(c))
}

fn lex(src: &[char]) -> Result<Vec<Token>, JqlError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let two: String = src[i..(i + 2).min(src.len())].iter().collect();
        let push = |out: &mut Vec<Token>, tok: Tok, text: String| {
            out.push(Token {
                tok,
                at: start,
                text,
            })
        };
        match c {
            '(' => {
                push(&mut out, Tok::LParen, "(".into());
                i += 1;
            }
            ')' => {
                push(&mut out, Tok::RParen, ")".into());
                i += 1;
            }
            ',' => {
                push(&mut out, Tok::Comma, ",".into());
                i += 1;
            }
            '[' => {
                push(&mut out, Tok::LBracket, "[".into());
                i += 1;
            }
            ']' => {
                push(&mut out, Tok::RBracket, "]".into());
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                let mut closed = false;
                while i < src.len() {
                    let d = src[i];
                    if d == '\\' && i + 1 < src.len() {
                        let e = src[i + 1];
                        match e {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'u' if i + 5 < src.len() => {
                                let hex: String = src[i + 2..i + 6].iter().collect();
                                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                                    Some(ch) => {
                                        s.push(ch);
                                        i += 4;
                                    }
                                    None => s.push('u'),
                                }
                            }
                            other => s.push(other),
                        }
                        i += 2;
                        continue;
                    }
                    if d == quote {
                        closed = true;
                        i += 1;
                        break;
                    }
                    s.push(d);
                    i += 1;
                }
                if !closed {
                    let lc = line_col(src, start);
                    return Err(JqlError::syntax(
                        format!("The quoted string '{s}' has not been completed."),
                        Some(lc),
                    ));
                }
                let text: String = src[start..i].iter().collect();
                push(&mut out, Tok::Str(s), text);
            }
            _ if two == "!=" || two == "!~" || two == ">=" || two == "<=" => {
                let op = match two.as_str() {
                    "!=" => "!=",
                    "!~" => "!~",
                    ">=" => ">=",
                    _ => "<=",
                };
                push(&mut out, Tok::Op(op), two.clone());
                i += 2;
            }
            _ if two == "&&" => {
                push(&mut out, Tok::AndSym, two.clone());
                i += 2;
            }
            _ if two == "||" => {
                push(&mut out, Tok::OrSym, two.clone());
                i += 2;
            }
            '=' | '~' | '<' | '>' => {
                let op = match c {
                    '=' => "=",
                    '~' => "~",
                    '<' => "<",
                    _ => ">",
                };
                push(&mut out, Tok::Op(op), c.to_string());
                i += 1;
            }
            '!' => {
                push(&mut out, Tok::Not, "!".into());
                i += 1;
            }
            '&' | '|' => {
                push(&mut out, Tok::Word(c.to_string()), c.to_string());
                i += 1;
            }
            _ if is_reserved(c) => {
                let lc = line_col(src, start);
                return Err(JqlError::syntax(
                    format!(
                        "The character '{c}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u{:04x}' instead.",
                        c as u32
                    ),
                    Some(lc),
                ));
            }
            _ => {
                let mut s = String::new();
                while i < src.len() && is_word_char(src[i]) {
                    s.push(src[i]);
                    i += 1;
                }
                if s.is_empty() {
                    // Unreachable in practice; guard against an endless loop.
                    i += 1;
                    continue;
                }
                push(&mut out, Tok::Word(s.clone()), s);
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        at: src.len(),
        text: String::new(),
    });
    Ok(out)
}

// ---------------------------------------------------------------- AST

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `~`
    Like,
    /// `!~`
    NotLike,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `is`
    Is,
    /// `is not`
    IsNot,
}

/// Right-hand side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A single value; `quoted` is whether it was written in quotes.
    Value(String, bool),
    /// `( a, b, ... )`
    List(Vec<Operand>),
    /// `name(args)`
    Func(String, Vec<String>),
    /// `EMPTY` or `NULL`
    Empty,
}

/// One `field op operand` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The field as written (quotes removed, `cf[n]` kept).
    pub field: String,
    /// The operator.
    pub op: Op,
    /// The operand.
    pub operand: Operand,
}

/// A boolean JQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A clause.
    Clause(Clause),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The condition; `None` matches everything.
    pub filter: Option<Expr>,
    /// `ORDER BY` fields with `true` for descending.
    pub order_by: Vec<(String, bool)>,
}

// ---------------------------------------------------------------- parser

struct Parser<'a> {
    src: &'a [char],
    toks: Vec<Token>,
    pos: usize,
}

fn kw(t: &Tok, word: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(word))
}

const RESERVED_WORDS: &[&str] = &[
    "and", "or", "not", "empty", "null", "order", "by", "in", "is", "asc", "desc", "was", "changed",
];

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[self.pos.min(last)]
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn at(&self, t: &Token) -> (usize, usize) {
        line_col(self.src, t.at)
    }

    fn query(&mut self) -> Result<Query, JqlError> {
        let filter = if matches!(self.peek().tok, Tok::Eof) || kw(&self.peek().tok, "order") {
            None
        } else {
            Some(self.or_expr()?)
        };
        let mut order_by = Vec::new();
        if kw(&self.peek().tok, "order") {
            let order_tok = self.next();
            let by = self.next();
            if !kw(&by.tok, "by") {
                return Err(if matches!(by.tok, Tok::Eof) {
                    JqlError::syntax("Expecting 'BY' before the end of the query.", None)
                } else {
                    JqlError::syntax(
                        format!("Expecting 'BY' but got '{}'.", by.text),
                        Some(self.at(&by)),
                    )
                });
            }
            let _ = order_tok;
            loop {
                let t = self.next();
                let field = match &t.tok {
                    Tok::Word(w) if !RESERVED_WORDS.contains(&w.to_ascii_lowercase().as_str()) => {
                        self.cf_suffix(w.clone())?
                    }
                    Tok::Str(s) => s.clone(),
                    Tok::Eof => {
                        return Err(JqlError::syntax(
                            "Expecting a field name at the end of the query.",
                            None,
                        ));
                    }
                    _ => {
                        return Err(JqlError::syntax(
                            format!("Expecting a field name but got '{}'.", t.text),
                            Some(self.at(&t)),
                        ));
                    }
                };
                let mut desc = false;
                if kw(&self.peek().tok, "asc") {
                    self.next();
                } else if kw(&self.peek().tok, "desc") {
                    self.next();
                    desc = true;
                }
                order_by.push((field, desc));
                if matches!(self.peek().tok, Tok::Comma) {
                    self.next();
                    continue;
                }
                break;
            }
        }
        let t = self.peek().clone();
        match t.tok {
            Tok::Eof => Ok(Query { filter, order_by }),
            _ => Err(JqlError::syntax(
                format!("Expecting either 'OR' or 'AND' but got '{}'.", t.text),
                Some(self.at(&t)),
            )),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.and_expr()?;
        while kw(&self.peek().tok, "or") || matches!(self.peek().tok, Tok::OrSym) {
            self.next();
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.not_expr()?;
        while kw(&self.peek().tok, "and") || matches!(self.peek().tok, Tok::AndSym) {
            self.next();
            let right = self.not_expr()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, JqlError> {
        let t = self.peek().clone();
        if kw(&t.tok, "not") || matches!(t.tok, Tok::Not) {
            self.next();
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        if matches!(t.tok, Tok::LParen) {
            self.next();
            let e = self.or_expr()?;
            let close = self.next();
            return match close.tok {
                Tok::RParen => Ok(e),
                Tok::Eof => Err(JqlError::syntax(
                    "Expecting ')' before the end of the query.",
                    None,
                )),
                _ => Err(JqlError::syntax(
                    format!("Expecting ')' but got '{}'.", close.text),
                    Some(self.at(&close)),
                )),
            };
        }
        self.clause()
    }

    fn cf_suffix(&mut self, word: String) -> Result<String, JqlError> {
        if word.eq_ignore_ascii_case("cf") && matches!(self.peek().tok, Tok::LBracket) {
            self.next();
            let n = self.next();
            let num = match &n.tok {
                Tok::Word(w) if w.chars().all(|c| c.is_ascii_digit()) => w.clone(),
                Tok::Eof => {
                    return Err(JqlError::syntax(
                        "Expecting a custom field id before the end of the query.",
                        None,
                    ));
                }
                _ => {
                    return Err(JqlError::syntax(
                        format!("Expecting a custom field id but got '{}'.", n.text),
                        Some(self.at(&n)),
                    ));
                }
            };
            let close = self.next();
            if !matches!(close.tok, Tok::RBracket) {
                return Err(JqlError::syntax(
                    format!("Expecting ']' but got '{}'.", close.text),
                    Some(self.at(&close)),
                ));
            }
            return Ok(format!("cf[{num}]"));
        }
        Ok(word)
    }

    fn clause(&mut self) -> Result<Expr, JqlError> {
        let t = self.next();
        let field = match &t.tok {
            Tok::Word(w)
                if !RESERVED_WORDS.contains(&w.to_ascii_lowercase().as_str())
                    && w != "&"
                    && w != "|" =>
            {
                self.cf_suffix(w.clone())?
            }
            Tok::Str(s) => s.clone(),
            Tok::Eof => {
                return Err(JqlError::syntax(
                    "Expecting a field name at the end of the query.",
                    None,
                ));
            }
            _ => {
                return Err(JqlError::syntax(
                    format!(
                        "Expecting a field name but got '{}'. You must surround '{}' in quotation marks to use it as a field name.",
                        t.text, t.text
                    ),
                    Some(self.at(&t)),
                ));
            }
        };
        let op_tok = self.next();
        let op = match &op_tok.tok {
            Tok::Op("=") => Op::Eq,
            Tok::Op("!=") => Op::Ne,
            Tok::Op("~") => Op::Like,
            Tok::Op("!~") => Op::NotLike,
            Tok::Op(">") => Op::Gt,
            Tok::Op(">=") => Op::Ge,
            Tok::Op("<") => Op::Lt,
            Tok::Op("<=") => Op::Le,
            Tok::Word(w) if w.eq_ignore_ascii_case("in") => Op::In,
            Tok::Word(w) if w.eq_ignore_ascii_case("is") => {
                if kw(&self.peek().tok, "not") {
                    self.next();
                    Op::IsNot
                } else {
                    Op::Is
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                let n = self.next();
                if kw(&n.tok, "in") {
                    Op::NotIn
                } else {
                    return Err(JqlError::syntax(
                        format!("Expecting 'IN' but got '{}'.", n.text),
                        Some(self.at(&n)),
                    ));
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("was") || w.eq_ignore_ascii_case("changed") => {
                return Err(JqlError::semantic(format!(
                    "The history operator '{}' is not supported by this simulator.",
                    w.to_ascii_uppercase()
                )));
            }
            Tok::Eof => {
                return Err(JqlError::syntax(
                    format!("Expecting operator before the end of the query. {VALID_OPS}"),
                    None,
                ));
            }
            _ => {
                return Err(JqlError::syntax(
                    format!("Expecting operator but got '{}'. {VALID_OPS}", op_tok.text),
                    Some(self.at(&op_tok)),
                ));
            }
        };
        let operand = self.operand(op)?;
        Ok(Expr::Clause(Clause { field, op, operand }))
    }

    fn operand(&mut self, op: Op) -> Result<Operand, JqlError> {
        let t = self.peek().clone();
        if matches!(t.tok, Tok::LParen) {
            self.next();
            let mut items = Vec::new();
            loop {
                items.push(self.single()?);
                let sep = self.next();
                match sep.tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    Tok::Eof => {
                        return Err(JqlError::syntax(
                            "Expecting ')' before the end of the query.",
                            None,
                        ));
                    }
                    _ => {
                        return Err(JqlError::syntax(
                            format!("Expecting ',' or ')' but got '{}'.", sep.text),
                            Some(self.at(&sep)),
                        ));
                    }
                }
            }
            return Ok(Operand::List(items));
        }
        let v = self.single()?;
        if matches!(op, Op::In | Op::NotIn) && !matches!(v, Operand::Func(..)) {
            // Jira accepts a bare value after IN as a one-element list.
            return Ok(Operand::List(vec![v]));
        }
        Ok(v)
    }

    fn single(&mut self) -> Result<Operand, JqlError> {
        let t = self.next();
        match &t.tok {
            Tok::Str(s) => Ok(Operand::Value(s.clone(), true)),
            Tok::Word(w) if w.eq_ignore_ascii_case("empty") || w.eq_ignore_ascii_case("null") => {
                Ok(Operand::Empty)
            }
            Tok::Word(w)
                if !RESERVED_WORDS.contains(&w.to_ascii_lowercase().as_str())
                    && w != "&"
                    && w != "|" =>
            {
                if matches!(self.peek().tok, Tok::LParen) {
                    self.next();
                    let mut args = Vec::new();
                    loop {
                        let a = self.next();
                        match &a.tok {
                            Tok::RParen if args.is_empty() => break,
                            Tok::Word(x) | Tok::Str(x) => args.push(x.clone()),
                            Tok::Eof => {
                                return Err(JqlError::syntax(
                                    "Expecting ')' before the end of the query.",
                                    None,
                                ));
                            }
                            _ => {
                                return Err(JqlError::syntax(
                                    format!("Expecting a function argument but got '{}'.", a.text),
                                    Some(self.at(&a)),
                                ));
                            }
                        }
                        let sep = self.next();
                        match sep.tok {
                            Tok::Comma => continue,
                            Tok::RParen => break,
                            Tok::Eof => {
                                return Err(JqlError::syntax(
                                    "Expecting ')' before the end of the query.",
                                    None,
                                ));
                            }
                            _ => {
                                return Err(JqlError::syntax(
                                    format!("Expecting ',' or ')' but got '{}'.", sep.text),
                                    Some(self.at(&sep)),
                                ));
                            }
                        }
                    }
                    return Ok(Operand::Func(w.clone(), args));
                }
                Ok(Operand::Value(w.clone(), false))
            }
            Tok::Eof => Err(JqlError::syntax(
                "Expecting either a value, list or function before the end of the query.",
                None,
            )),
            _ => Err(JqlError::syntax(
                format!(
                    "Expecting either a value, list or function but got '{}'. You must surround '{}' in quotation marks to use it as a value.",
                    t.text, t.text
                ),
                Some(self.at(&t)),
            )),
        }
    }
}

/// Parses a JQL string. Never panics, whatever the input.
pub fn parse(input: &str) -> Result<Query, JqlError> {
    let src: Vec<char> = input.chars().collect();
    let toks = lex(&src)?;
    let mut p = Parser {
        src: &src,
        toks,
        pos: 0,
    };
    p.query()
}

// ---------------------------------------------------------------- evaluation

/// Which issue attribute a field name refers to.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Project,
    Key,
    IssueType,
    Status,
    StatusCategory,
    Assignee,
    Reporter,
    Labels,
    FixVersion,
    EpicLink,
    Parent,
    Resolution,
    Priority,
    Created,
    Updated,
    Resolved,
    DueDate,
    Text,
    Summary,
    Description,
    Comment,
    TimeSpent,
    OriginalEstimate,
    RemainingEstimate,
    Custom(String),
}

impl Field {
    fn is_date(&self) -> bool {
        matches!(
            self,
            Field::Created | Field::Updated | Field::Resolved | Field::DueDate
        )
    }
    fn is_text(&self) -> bool {
        matches!(
            self,
            Field::Text | Field::Summary | Field::Description | Field::Comment
        )
    }
}

fn resolve_field(jira: &Jira, name: &str) -> Result<Field, JqlError> {
    let lower = name.to_ascii_lowercase();
    let f = match lower.as_str() {
        "project" => Field::Project,
        "key" | "issuekey" | "id" | "issue" => Field::Key,
        "issuetype" | "type" => Field::IssueType,
        "status" => Field::Status,
        "statuscategory" => Field::StatusCategory,
        "assignee" => Field::Assignee,
        "reporter" => Field::Reporter,
        "labels" | "label" => Field::Labels,
        "fixversion" | "fixversions" => Field::FixVersion,
        "epic link" => Field::EpicLink,
        "parent" => Field::Parent,
        "resolution" => Field::Resolution,
        "priority" => Field::Priority,
        "created" | "createddate" => Field::Created,
        "updated" | "updateddate" => Field::Updated,
        "resolved" | "resolutiondate" => Field::Resolved,
        "due" | "duedate" => Field::DueDate,
        "text" => Field::Text,
        "summary" => Field::Summary,
        "description" => Field::Description,
        "comment" => Field::Comment,
        "timespent" => Field::TimeSpent,
        "originalestimate" | "timeoriginalestimate" => Field::OriginalEstimate,
        "remainingestimate" | "timeestimate" => Field::RemainingEstimate,
        _ => {
            let cf = if let Some(n) = lower.strip_prefix("cf[").and_then(|r| r.strip_suffix(']')) {
                jira.custom_fields
                    .iter()
                    .find(|f| f.id == format!("customfield_{n}"))
            } else {
                jira.custom_fields
                    .iter()
                    .find(|f| f.name.eq_ignore_ascii_case(name) || f.id.eq_ignore_ascii_case(name))
            };
            match cf {
                Some(f) if f.name == "Epic Link" => Field::EpicLink,
                Some(f) => Field::Custom(f.id.clone()),
                None => {
                    return Err(JqlError::semantic(format!(
                        "Field '{name}' does not exist or you do not have permission to view it."
                    )));
                }
            }
        }
    };
    Ok(f)
}

/// Evaluation context: who `currentUser()` is and what `now()` is.
#[derive(Debug, Clone)]
pub struct EvalCtx {
    /// Account id of the requesting user.
    pub current_user: String,
    /// The current time.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
enum CExpr {
    And(Box<CExpr>, Box<CExpr>),
    Or(Box<CExpr>, Box<CExpr>),
    Not(Box<CExpr>),
    Clause(CClause),
}

#[derive(Debug, Clone)]
struct CClause {
    field: Field,
    op: Op,
    /// Operand values, lowercased strings, or `None` for EMPTY.
    values: Vec<Option<String>>,
    /// Parsed numeric values (numbers, durations, dates as epoch ms).
    nums: Vec<Option<f64>>,
}

/// A query checked against the data and ready to run.
#[derive(Debug, Clone)]
pub struct Compiled {
    filter: Option<CExpr>,
    order_by: Vec<(Field, bool)>,
}

fn parse_jql_date(v: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t = v.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Utc.timestamp_millis_opt(ms).single();
    }
    for fmt in ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(d.and_utc());
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, fmt) {
            return d.and_hms_opt(0, 0, 0).map(|x| x.and_utc());
        }
    }
    relative(t).map(|d| now + d)
}

/// `-7d`, `4w 2d`, `+1h`, `-30m`: calendar units (a day is 24 hours here).
fn relative(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut any = false;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else if c.is_whitespace() {
            continue;
        } else {
            let n: i64 = num.parse().ok()?;
            num.clear();
            let d = match c {
                'y' => Duration::days(365 * n),
                'M' => Duration::days(30 * n),
                'w' => Duration::weeks(n),
                'd' => Duration::days(n),
                'h' => Duration::hours(n),
                'm' => Duration::minutes(n),
                _ => return None,
            };
            total += d;
            any = true;
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(total * sign)
}

fn date_function(
    name: &str,
    args: &[String],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, JqlError> {
    let lower = name.to_ascii_lowercase();
    let today = now.date_naive();
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|x| x.and_utc());
    let end = |d: NaiveDate| d.and_hms_milli_opt(23, 59, 59, 999).map(|x| x.and_utc());
    let offset = match args.first() {
        None => Duration::zero(),
        Some(a) => relative(a).ok_or_else(|| {
            JqlError::semantic(format!(
                "The function '{name}' has an invalid increment argument '{a}'."
            ))
        })?,
    };
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_sunday()));
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1);
    let next_month = if today.month() == 12 {
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)
    };
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1);
    let year_end = NaiveDate::from_ymd_opt(today.year(), 12, 31);
    let base = match lower.as_str() {
        "now" => Some(now),
        "startofday" => start(today),
        "endofday" => end(today),
        "startofweek" => start(monday),
        "endofweek" => end(monday + Duration::days(6)),
        "startofmonth" => month_start.and_then(start),
        "endofmonth" => next_month.map(|d| d - Duration::days(1)).and_then(end),
        "startofyear" => year_start.and_then(start),
        "endofyear" => year_end.and_then(end),
        _ => return Ok(None),
    };
    Ok(base.map(|b| b + offset))
}

impl Compiled {
    /// Checks a parsed query against the data (fields, functions, values).
    pub fn new(q: &Query, jira: &Jira, ctx: &EvalCtx) -> Result<Compiled, JqlError> {
        let filter = match &q.filter {
            Some(e) => Some(compile(e, jira, ctx)?),
            None => None,
        };
        let mut order_by = Vec::new();
        for (f, desc) in &q.order_by {
            let field = match f.to_ascii_lowercase().as_str() {
                "rank" => Field::Key,
                _ => resolve_field(jira, f)?,
            };
            order_by.push((field, *desc));
        }
        Ok(Compiled { filter, order_by })
    }

    /// Whether an issue matches.
    pub fn matches(&self, jira: &Jira, issue: &JiraIssue) -> bool {
        match &self.filter {
            None => true,
            Some(e) => eval(e, jira, issue),
        }
    }

    /// Sorts issue positions by `ORDER BY` (default: newest first).
    pub fn sort(&self, jira: &Jira, idx: &mut [usize]) {
        if self.order_by.is_empty() {
            idx.sort_by(|a, b| jira.issues[*b].id.cmp(&jira.issues[*a].id));
            return;
        }
        idx.sort_by(|a, b| {
            for (f, desc) in &self.order_by {
                let o = cmp_field(jira, f, &jira.issues[*a], &jira.issues[*b]);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            jira.issues[*b].id.cmp(&jira.issues[*a].id)
        });
    }

    /// Whether the query has any condition (Jira Cloud refuses unbounded queries).
    pub fn is_bounded(&self) -> bool {
        self.filter.is_some()
    }
}

fn sort_key(jira: &Jira, f: &Field, i: &JiraIssue) -> (Option<f64>, Option<String>) {
    match f {
        Field::Key => (Some(i.id as f64), None),
        Field::Priority => (i.priority.parse::<f64>().ok().map(|p| -p), None),
        _ if f.is_date() => (date_values(f, i).first().copied(), None),
        Field::TimeSpent
        | Field::OriginalEstimate
        | Field::RemainingEstimate
        | Field::Custom(_) => (num_values(f, i).first().copied(), None),
        _ => (None, string_values(jira, f, i).into_iter().next()),
    }
}

fn cmp_field(jira: &Jira, f: &Field, a: &JiraIssue, b: &JiraIssue) -> Ordering {
    let ka = sort_key(jira, f, a);
    let kb = sort_key(jira, f, b);
    match (ka, kb) {
        ((Some(x), _), (Some(y), _)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        ((None, Some(x)), (None, Some(y))) => x.cmp(&y),
        // Empty values sort last in ascending order, as in Jira.
        ((None, None), (None, None)) => Ordering::Equal,
        ((None, None), _) => Ordering::Greater,
        (_, (None, None)) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

fn compile(e: &Expr, jira: &Jira, ctx: &EvalCtx) -> Result<CExpr, JqlError> {
    Ok(match e {
        Expr::And(a, b) => CExpr::And(
            Box::new(compile(a, jira, ctx)?),
            Box::new(compile(b, jira, ctx)?),
        ),
        Expr::Or(a, b) => CExpr::Or(
            Box::new(compile(a, jira, ctx)?),
            Box::new(compile(b, jira, ctx)?),
        ),
        Expr::Not(a) => CExpr::Not(Box::new(compile(a, jira, ctx)?)),
        Expr::Clause(c) => CExpr::Clause(compile_clause(c, jira, ctx)?),
    })
}

fn flatten(op: &Operand) -> Vec<&Operand> {
    match op {
        Operand::List(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other],
    }
}

fn compile_clause(c: &Clause, jira: &Jira, ctx: &EvalCtx) -> Result<CClause, JqlError> {
    let field = resolve_field(jira, &c.field)?;
    let op_name = match c.op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Like => "~",
        Op::NotLike => "!~",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::In => "in",
        Op::NotIn => "not in",
        Op::Is => "is",
        Op::IsNot => "is not",
    };
    let ordered = matches!(c.op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
    let numeric = field.is_date()
        || matches!(
            field,
            Field::TimeSpent
                | Field::OriginalEstimate
                | Field::RemainingEstimate
                | Field::Custom(_)
                | Field::Key
                | Field::Priority
        );
    let unsupported = || {
        JqlError::semantic(format!(
            "The operator '{op_name}' is not supported by the '{}' field.",
            c.field
        ))
    };
    if matches!(c.op, Op::Like | Op::NotLike) != field.is_text() {
        if field.is_text() && matches!(c.op, Op::Is | Op::IsNot) {
            // `summary is EMPTY` is allowed.
        } else {
            return Err(unsupported());
        }
    }
    if ordered && !numeric {
        return Err(unsupported());
    }
    if matches!(c.op, Op::Is | Op::IsNot) && c.operand != Operand::Empty {
        return Err(JqlError::semantic(format!(
            "The operator '{op_name}' only supports the values EMPTY and NULL."
        )));
    }
    if matches!(
        c.op,
        Op::Eq | Op::Ne | Op::Like | Op::NotLike | Op::Gt | Op::Ge | Op::Lt | Op::Le
    ) && matches!(c.operand, Operand::List(_))
    {
        return Err(JqlError::semantic(format!(
            "The operator '{op_name}' does not support the list of values."
        )));
    }
    let mut values = Vec::new();
    let mut nums = Vec::new();
    for o in flatten(&c.operand) {
        match o {
            Operand::Empty => {
                values.push(None);
                nums.push(None);
            }
            Operand::Value(v, _) => {
                if field.is_date() {
                    let d = parse_jql_date(v, ctx.now).ok_or_else(|| {
                        JqlError::semantic(format!(
                            "Date value '{v}' for field '{}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.",
                            c.field
                        ))
                    })?;
                    nums.push(Some(d.timestamp_millis() as f64));
                    values.push(Some(v.to_lowercase()));
                } else if matches!(
                    field,
                    Field::TimeSpent | Field::OriginalEstimate | Field::RemainingEstimate
                ) {
                    let secs = crate::util::parse_duration(v).ok_or_else(|| {
                        JqlError::semantic(format!(
                            "The value '{v}' is not a valid duration for the field '{}'.",
                            c.field
                        ))
                    })?;
                    nums.push(Some(secs as f64));
                    values.push(Some(v.to_lowercase()));
                } else if let Field::Custom(_) = field {
                    let n: f64 = v.parse().map_err(|_| {
                        JqlError::semantic(format!(
                            "The value '{v}' is not a valid number for the field '{}'.",
                            c.field
                        ))
                    })?;
                    nums.push(Some(n));
                    values.push(Some(v.to_lowercase()));
                } else {
                    if field == Field::Project
                        && !matches!(c.op, Op::Ne | Op::NotIn)
                        && jira.project(v).is_none()
                        && !jira.projects.iter().any(|p| p.name.eq_ignore_ascii_case(v))
                    {
                        return Err(JqlError::semantic(format!(
                            "The value '{v}' does not exist for the field 'project'."
                        )));
                    }
                    if field == Field::Key {
                        nums.push(jira.issue_index(v).map(|i| jira.issues[i].id as f64));
                        if ordered && jira.issue_index(v).is_none() {
                            return Err(JqlError::semantic(format!(
                                "The issue key '{v}' for field '{}' is invalid.",
                                c.field
                            )));
                        }
                    } else {
                        nums.push(v.parse().ok());
                    }
                    values.push(Some(v.to_lowercase()));
                }
            }
            Operand::Func(name, args) => {
                let lower = name.to_ascii_lowercase();
                if lower == "currentuser" {
                    values.push(Some(ctx.current_user.to_lowercase()));
                    nums.push(None);
                } else if let Some(d) = date_function(name, args, ctx.now)? {
                    if !field.is_date() {
                        return Err(JqlError::semantic(format!(
                            "The function '{name}' is not supported by the '{}' field.",
                            c.field
                        )));
                    }
                    nums.push(Some(d.timestamp_millis() as f64));
                    values.push(None);
                } else if matches!(lower.as_str(), "unreleasedversions" | "releasedversions") {
                    let released = lower == "releasedversions";
                    for p in &jira.projects {
                        if args.is_empty() || args.iter().any(|a| a.eq_ignore_ascii_case(&p.key)) {
                            for v in p.versions.iter().filter(|v| v.released == released) {
                                values.push(Some(v.id.to_string()));
                                nums.push(None);
                            }
                        }
                    }
                } else if lower == "empty" {
                    values.push(None);
                    nums.push(None);
                } else {
                    return Err(JqlError::semantic(format!(
                        "Unable to find JQL function '{name}()'."
                    )));
                }
            }
            Operand::List(_) => {}
        }
    }
    Ok(CClause {
        field,
        op: c.op,
        values,
        nums,
    })
}

fn user_strings(jira: &Jira, account: &str) -> Vec<String> {
    match jira.user(account) {
        Some(u) => vec![
            u.account_id.to_lowercase(),
            u.name.to_lowercase(),
            u.display_name.to_lowercase(),
            u.email.to_lowercase(),
        ],
        None => vec![account.to_lowercase()],
    }
}

/// Values of a field for `=`/`in`: every acceptable spelling (name, id, key).
fn string_values(jira: &Jira, f: &Field, i: &JiraIssue) -> Vec<String> {
    match f {
        Field::Project => {
            let mut v = vec![i.project.to_lowercase()];
            if let Some(p) = jira.project(&i.project) {
                v.push(p.name.to_lowercase());
                v.push(p.id.to_string());
            }
            v
        }
        Field::Key => vec![i.key.to_lowercase(), i.id.to_string()],
        Field::IssueType => {
            let mut v = vec![i.issue_type.clone()];
            if let Some(t) = jira.issue_type(&i.issue_type) {
                v.push(t.name.to_lowercase());
                if t.subtask {
                    v.push("subtask".into());
                    v.push("sub-task".into());
                }
            }
            v
        }
        Field::Status => {
            let mut v = vec![i.status.clone()];
            if let Some(s) = jira.status(&i.status) {
                v.push(s.name.to_lowercase());
            }
            v
        }
        Field::StatusCategory => match jira.status(&i.status).map(|s| s.category.as_str()) {
            Some("new") => vec!["new".into(), "to do".into(), "2".into()],
            Some("indeterminate") => vec!["indeterminate".into(), "in progress".into(), "4".into()],
            Some("done") => vec!["done".into(), "3".into()],
            _ => vec![],
        },
        Field::Assignee => i
            .assignee
            .as_deref()
            .map(|a| user_strings(jira, a))
            .unwrap_or_default(),
        Field::Reporter => user_strings(jira, &i.reporter),
        Field::Labels => i.labels.iter().map(|l| l.to_lowercase()).collect(),
        Field::FixVersion => {
            let mut v = Vec::new();
            if let Some(p) = jira.project(&i.project) {
                for id in &i.fix_versions {
                    v.push(id.to_string());
                    if let Some(ver) = p.versions.iter().find(|x| x.id == *id) {
                        v.push(ver.name.to_lowercase());
                    }
                }
            }
            v
        }
        Field::EpicLink => epic_of(jira, i)
            .map(|k| {
                let mut v = vec![k.to_lowercase()];
                if let Some(idx) = jira.issue_index(k) {
                    v.push(jira.issues[idx].id.to_string());
                }
                v
            })
            .unwrap_or_default(),
        Field::Parent => i
            .parent
            .as_deref()
            .map(|k| {
                let mut v = vec![k.to_lowercase()];
                if let Some(idx) = jira.issue_index(k) {
                    v.push(jira.issues[idx].id.to_string());
                }
                v
            })
            .unwrap_or_default(),
        Field::Resolution => i
            .resolution
            .as_deref()
            .map(|r| vec![r.to_lowercase()])
            .unwrap_or_default(),
        Field::Priority => {
            let mut v = vec![i.priority.clone()];
            if let Some((_, n)) = jira.priorities.iter().find(|(id, _)| *id == i.priority) {
                v.push(n.to_lowercase());
            }
            v
        }
        Field::Summary => vec![i.summary.to_lowercase()],
        Field::Description => i.description.iter().map(|d| d.to_lowercase()).collect(),
        Field::Comment => i.comments.iter().map(|c| c.body.to_lowercase()).collect(),
        Field::Text => {
            let mut v = vec![i.summary.to_lowercase()];
            v.extend(i.description.iter().map(|d| d.to_lowercase()));
            v.extend(i.comments.iter().map(|c| c.body.to_lowercase()));
            v
        }
        Field::Custom(id) => match i.custom.get(id) {
            None | Some(serde_json::Value::Null) => vec![],
            Some(serde_json::Value::String(s)) => vec![s.to_lowercase()],
            Some(v) => vec![v.to_string()],
        },
        _ => num_values(f, i).iter().map(|n| n.to_string()).collect(),
    }
}

/// The epic of an issue: its epic link, or a parent whose type is Epic.
fn epic_of<'a>(jira: &'a Jira, i: &'a JiraIssue) -> Option<&'a str> {
    if let Some(e) = i.epic_link.as_deref() {
        return Some(e);
    }
    let p = i.parent.as_deref()?;
    let idx = jira.issue_index(p)?;
    let parent = &jira.issues[idx];
    jira.issue_type(&parent.issue_type)
        .filter(|t| t.hierarchy_level == 1)
        .map(|_| p)
}

fn date_values(f: &Field, i: &JiraIssue) -> Vec<f64> {
    let d = match f {
        Field::Created => Some(i.created),
        Field::Updated => Some(i.updated),
        Field::Resolved => i.resolved,
        Field::DueDate => i
            .due_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
        _ => None,
    };
    d.map(|d| vec![d.timestamp_millis() as f64])
        .unwrap_or_default()
}

fn num_values(f: &Field, i: &JiraIssue) -> Vec<f64> {
    let n = match f {
        Field::TimeSpent => i.time_spent.map(|x| x as f64),
        Field::OriginalEstimate => i.original_estimate.map(|x| x as f64),
        Field::RemainingEstimate => i.remaining_estimate.map(|x| x as f64),
        Field::Custom(id) => i.custom.get(id).and_then(|v| v.as_f64()),
        Field::Key => Some(i.id as f64),
        Field::Priority => i.priority.parse().ok(),
        _ => return date_values(f, i),
    };
    n.into_iter().collect()
}

fn text_match(haystacks: &[String], needle: &str) -> bool {
    let words: Vec<String> = needle
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| c == '*' || c == '?')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return false;
    }
    words
        .iter()
        .all(|w| haystacks.iter().any(|h| h.contains(w.as_str())))
}

fn eval(e: &CExpr, jira: &Jira, i: &JiraIssue) -> bool {
    match e {
        CExpr::And(a, b) => eval(a, jira, i) && eval(b, jira, i),
        CExpr::Or(a, b) => eval(a, jira, i) || eval(b, jira, i),
        CExpr::Not(a) => !eval(a, jira, i),
        CExpr::Clause(c) => eval_clause(c, jira, i),
    }
}

fn eval_clause(c: &CClause, jira: &Jira, i: &JiraIssue) -> bool {
    let f = &c.field;
    let numeric_field = f.is_date()
        || matches!(
            f,
            Field::TimeSpent
                | Field::OriginalEstimate
                | Field::RemainingEstimate
                | Field::Custom(_)
        );
    match c.op {
        Op::Is | Op::IsNot => {
            let empty = if numeric_field {
                num_values(f, i).is_empty()
            } else {
                string_values(jira, f, i).is_empty()
            };
            (c.op == Op::Is) == empty
        }
        Op::Like | Op::NotLike => {
            let hay = string_values(jira, f, i);
            let hit = c.values.iter().flatten().any(|v| text_match(&hay, v));
            if c.op == Op::Like {
                hit
            } else {
                !hay.is_empty() && !hit
            }
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let Some(Some(rhs)) = c.nums.first() else {
                return false;
            };
            num_values(f, i).iter().any(|x| match c.op {
                Op::Gt => x > rhs,
                Op::Ge => x >= rhs,
                Op::Lt => x < rhs,
                _ => x <= rhs,
            })
        }
        Op::Eq | Op::In | Op::Ne | Op::NotIn => {
            let positive = matches!(c.op, Op::Eq | Op::In);
            let wants_empty = c.values.iter().any(Option::is_none);
            let hit = if numeric_field {
                let vals = num_values(f, i);
                let is_empty = vals.is_empty();
                (wants_empty && is_empty)
                    || c.nums
                        .iter()
                        .flatten()
                        .any(|n| vals.iter().any(|v| (v - n).abs() < 1e-9))
            } else {
                let vals = string_values(jira, f, i);
                let is_empty = vals.is_empty();
                let unresolved = *f == Field::Resolution
                    && is_empty
                    && c.values.iter().flatten().any(|v| v == "unresolved");
                (wants_empty && is_empty)
                    || unresolved
                    || c.values
                        .iter()
                        .flatten()
                        .any(|v| vals.iter().any(|x| x == v))
            };
            if positive {
                hit
            } else {
                // `!=` and `not in` never match issues whose field is empty,
                // unless EMPTY itself is in the list.
                let empty = if numeric_field {
                    num_values(f, i).is_empty()
                } else {
                    string_values(jira, f, i).is_empty()
                };
                !hit && !empty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_and_order() {
        let q = parse("project = OPS AND status = Done OR NOT labels in (a, \"b c\") ORDER BY created DESC, key")
            .expect("valid");
        assert!(matches!(q.filter, Some(Expr::Or(..))));
        assert_eq!(
            q.order_by,
            vec![("created".to_string(), true), ("key".to_string(), false)]
        );
        let q = parse("cf[10016] >= 3 and \"Epic Link\" is not EMPTY").expect("valid");
        match q.filter {
            Some(Expr::And(a, b)) => {
                assert!(
                    matches!(*a, Expr::Clause(Clause { ref field, op: Op::Ge, .. }) if field == "cf[10016]")
                );
                assert!(matches!(
                    *b,
                    Expr::Clause(Clause {
                        op: Op::IsNot,
                        operand: Operand::Empty,
                        ..
                    })
                ));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse("").expect("empty is valid").filter.is_none());
        assert!(parse("ORDER BY key").expect("valid").filter.is_none());
        parse("assignee = currentUser() AND updated >= startOfDay(-7d)").expect("functions");
        parse("created > -2w && (status != Done || resolution is EMPTY)").expect("symbols");
    }

    /// Jira's whole message, position included: a message with the
    /// right words at the wrong character must fail.
    #[test]
    fn errors_match_jira() {
        for (query, message) in [
            (
                "invalid query",
                "Expecting operator but got 'query'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)",
            ),
            (
                "project query OPS",
                "Expecting operator but got 'query'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)",
            ),
            (
                "project = ",
                "Expecting either a value, list or function before the end of the query.",
            ),
            (
                "project = \"OPS",
                "The quoted string 'OPS' has not been completed. (line 1, character 11)",
            ),
            (
                "project = OPS status = Done",
                "Expecting either 'OR' or 'AND' but got 'status'. (line 1, character 15)",
            ),
            (
                "summary ~ 50%",
                "The character '%' is a reserved JQL character. You must enclose it in a string or use the escape '\\u0025' instead. (line 1, character 13)",
            ),
            (
                "(project = OPS",
                "Expecting ')' before the end of the query.",
            ),
            (
                "project = AND",
                "Expecting either a value, list or function but got 'AND'. You must surround 'AND' in quotation marks to use it as a value. (line 1, character 11)",
            ),
            (
                "project = OPS AND",
                "Expecting a field name at the end of the query.",
            ),
        ] {
            let e = parse(query).expect_err(query);
            assert_eq!(
                e.message,
                format!("Error in the JQL Query: {message}"),
                "{query}"
            );
        }
    }

    #[test]
    fn relative_dates() {
        assert_eq!(relative("-7d"), Some(Duration::days(-7)));
        assert_eq!(relative("4w 2d"), Some(Duration::days(30)));
        assert_eq!(relative("-1x"), None);
        let now = Utc
            .with_ymd_and_hms(2026, 3, 11, 15, 0, 0)
            .single()
            .expect("valid");
        let d = parse_jql_date("2024-01-31 12:00", now).expect("date");
        assert_eq!(d.to_rfc3339(), "2024-01-31T12:00:00+00:00");
        let sod = date_function("startOfDay", &[], now)
            .expect("ok")
            .expect("known");
        assert_eq!(sod.to_rfc3339(), "2026-03-11T00:00:00+00:00");
        let som = date_function("startOfMonth", &["-1M".into()], now)
            .expect("ok")
            .expect("known");
        assert!(som < sod);
        assert!(date_function("bogus", &[], now).expect("ok").is_none());
    }
}
