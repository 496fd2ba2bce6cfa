//! Go's text/template syntax, the part docker users write: text and `{{ }}` actions with `-`
//! trimming and comments; pipelines with `|`; fields (`.A.B`), variables (`$`, `$x.A`),
//! literals, function calls and parenthesised pipelines; `if`/`else if`/`else`, `range` (with
//! `$i, $e :=`), `with`, `end`.

use super::TemplateError;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If { pipe: Pipe, then: Vec<Node>, otherwise: Vec<Node> },
    Range { pipe: Pipe, body: Vec<Node>, otherwise: Vec<Node> },
    With { pipe: Pipe, body: Vec<Node>, otherwise: Vec<Node> },
}

/// `$a, $b := cmd | cmd`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipe {
    pub decl: Vec<String>,
    pub cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `.A.B`; empty for `.` itself.
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root).
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `(pipeline).A.B`.
    Sub(Box<Pipe>, Vec<String>),
}

/// Parses a whole template.
pub fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let items = split(src)?;
    let mut p = Parser { items, pos: 0 };
    let (nodes, end) = p.list()?;
    match end {
        None => Ok(nodes),
        Some(e) => Err(TemplateError(format!("unexpected {{{{{e}}}}}"))),
    }
}

/// Text and action pieces, with `{{-`/`-}}` trimming applied to the neighbouring text.
#[derive(Debug)]
enum Item {
    Text(String),
    Action(String),
}

fn split(src: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let trim_before = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_before {
            text = text.trim_end();
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_owned()));
        }
        let body_start = if trim_before { 1 } else { 0 };
        let end = find_close(&after[body_start..]).ok_or_else(|| TemplateError("unclosed action".to_owned()))?;
        let mut body = &after[body_start..body_start + end];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            items.push(Item::Action(body.to_owned()));
        }
        rest = &after[body_start + end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        items.push(Item::Text(text.to_owned()));
    }
    Ok(items)
}

/// The offset of the `}}` that closes an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

struct Parser {
    items: Vec<Item>,
    pos: usize,
}

impl Parser {
    /// Nodes up to an `end`/`else` (returned as the second value) or the end of input.
    fn list(&mut self) -> Result<(Vec<Node>, Option<String>), TemplateError> {
        let mut nodes = Vec::new();
        while self.pos < self.items.len() {
            let i = self.pos;
            self.pos += 1;
            match &self.items[i] {
                Item::Text(t) => nodes.push(Node::Text(t.clone())),
                Item::Action(a) => {
                    let a = a.clone();
                    let word = a.split_whitespace().next().unwrap_or("");
                    match word {
                        "end" => return Ok((nodes, Some("end".to_owned()))),
                        "else" => return Ok((nodes, Some(a))),
                        "if" | "range" | "with" => nodes.push(self.block(word, a[word.len()..].trim())?),
                        "define" | "template" | "block" | "break" | "continue" => {
                            return Err(TemplateError(format!("{{{{{word}}}}} is not supported by berth's templates")))
                        }
                        _ => nodes.push(Node::Action(pipe(&a)?)),
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn block(&mut self, word: &str, rest: &str) -> Result<Node, TemplateError> {
        let p = pipe(rest)?;
        let (body, end) = self.list()?;
        let otherwise = match end.as_deref() {
            Some("end") => Vec::new(),
            Some(e) if e.starts_with("else") => {
                let tail = e["else".len()..].trim();
                if tail.is_empty() {
                    let (o, end) = self.list()?;
                    if end.as_deref() != Some("end") {
                        return Err(TemplateError(format!("missing {{{{end}}}} of {{{{{word}}}}}")));
                    }
                    o
                } else {
                    // `else if ...`: a nested block that shares our `end`.
                    let w = tail.split_whitespace().next().unwrap_or("");
                    if !matches!(w, "if" | "with") {
                        return Err(TemplateError(format!("unexpected {{{{else {tail}}}}}")));
                    }
                    vec![self.block(w, tail[w.len()..].trim())?]
                }
            }
            _ => return Err(TemplateError(format!("missing {{{{end}}}} of {{{{{word}}}}}"))),
        };
        Ok(match word {
            "if" => Node::If { pipe: p, then: body, otherwise },
            "range" => Node::Range { pipe: p, body, otherwise },
            _ => Node::With { pipe: p, body, otherwise },
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Bar,
    Comma,
    Decl,
}

fn lex(s: &str) -> Result<Vec<Tok>, TemplateError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '|' => {
                out.push(Tok::Bar);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Decl);
                i += 2;
            }
            '=' => {
                out.push(Tok::Decl);
                i += 1;
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else { return Err(TemplateError("unterminated quoted string".to_owned())) };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = chars.get(i).copied().unwrap_or('\\');
                            i += 1;
                            v.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '0' => '\0',
                                other => other,
                            });
                        }
                        c => v.push(c),
                    }
                }
                out.push(Tok::Str(v));
            }
            '`' => {
                let end = chars[i + 1..].iter().position(|&c| c == '`').ok_or_else(|| TemplateError("unterminated raw string".to_owned()))?;
                out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\n\r()|,\"`".contains(chars[i]) && !(chars[i] == ':' && chars.get(i + 1) == Some(&'=')) {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

/// Parses an action's pipeline.
pub fn pipe(s: &str) -> Result<Pipe, TemplateError> {
    let toks = lex(s)?;
    let mut pos = 0;
    let p = pipe_toks(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(TemplateError(format!("unexpected {:?} in {s:?}", toks[pos])));
    }
    Ok(p)
}

fn pipe_toks(toks: &[Tok], pos: &mut usize) -> Result<Pipe, TemplateError> {
    let mut p = Pipe::default();
    // A declaration: `$x :=` or `$i, $e :=`.
    let mut look = *pos;
    let mut names = Vec::new();
    while let Some(Tok::Word(w)) = toks.get(look) {
        if !w.starts_with('$') || w.contains('.') {
            break;
        }
        names.push(w.clone());
        look += 1;
        match toks.get(look) {
            Some(Tok::Comma) => look += 1,
            Some(Tok::Decl) => {
                p.decl = std::mem::take(&mut names);
                *pos = look + 1;
                break;
            }
            _ => break,
        }
    }
    let mut cmd = Vec::new();
    while let Some(t) = toks.get(*pos) {
        match t {
            Tok::Close => break,
            Tok::Bar => {
                if cmd.is_empty() {
                    return Err(TemplateError("missing command before |".to_owned()));
                }
                p.cmds.push(std::mem::take(&mut cmd));
                *pos += 1;
            }
            Tok::Open => {
                *pos += 1;
                let sub = pipe_toks(toks, pos)?;
                if toks.get(*pos) != Some(&Tok::Close) {
                    return Err(TemplateError("unclosed left paren".to_owned()));
                }
                *pos += 1;
                // `(...).Field.Chain` directly after the paren.
                let mut fields = Vec::new();
                if let Some(Tok::Word(w)) = toks.get(*pos) {
                    if w.starts_with('.') && w.len() > 1 {
                        fields = w[1..].split('.').map(str::to_owned).collect();
                        *pos += 1;
                    }
                }
                cmd.push(Arg::Sub(Box::new(sub), fields));
            }
            Tok::Str(s) => {
                cmd.push(Arg::Str(s.clone()));
                *pos += 1;
            }
            Tok::Word(w) => {
                cmd.push(word(w)?);
                *pos += 1;
            }
            Tok::Comma | Tok::Decl => return Err(TemplateError(format!("unexpected {t:?}"))),
        }
    }
    if cmd.is_empty() {
        return Err(TemplateError("missing value for command".to_owned()));
    }
    p.cmds.push(cmd);
    Ok(p)
}

fn word(w: &str) -> Result<Arg, TemplateError> {
    Ok(if w == "." {
        Arg::Field(Vec::new())
    } else if let Some(rest) = w.strip_prefix('.') {
        Arg::Field(rest.split('.').map(str::to_owned).collect())
    } else if w.starts_with('$') {
        let mut parts = w.split('.');
        let name = parts.next().unwrap_or("$").to_owned();
        Arg::Var(name, parts.map(str::to_owned).collect())
    } else if w == "true" || w == "false" {
        Arg::Bool(w == "true")
    } else if w == "nil" {
        Arg::Nil
    } else if w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        if let Ok(i) = w.parse() {
            Arg::Int(i)
        } else {
            Arg::Float(w.parse().map_err(|_| TemplateError(format!("bad number syntax: {w:?}")))?)
        }
    } else if w.chars().all(|c| c.is_alphanumeric() || c == '_') {
        Arg::Func(w.to_owned())
    } else {
        return Err(TemplateError(format!("unexpected {w:?} in command")));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_pipes_and_trimming() {
        let t = parse("a {{- .X -}} b{{if .A}}1{{else if .B}}2{{else}}3{{end}}").unwrap();
        assert_eq!(t[0], Node::Text("a".into()));
        assert_eq!(t[1], Node::Action(Pipe { decl: vec![], cmds: vec![vec![Arg::Field(vec!["X".into()])]] }));
        assert_eq!(t[2], Node::Text("b".into()));
        let Node::If { otherwise, .. } = &t[3] else { panic!("{t:?}") };
        assert!(matches!(&otherwise[0], Node::If { otherwise, .. } if otherwise == &vec![Node::Text("3".into())]));
        let p = pipe(r#"$i, $e := index .Config.Labels "a b" | printf "%s""#).unwrap();
        assert_eq!(p.decl, vec!["$i", "$e"]);
        assert_eq!(p.cmds.len(), 2);
        assert_eq!(p.cmds[0][2], Arg::Str("a b".into()));
        assert!(parse("{{if .A}}x").is_err());
        assert!(parse("{{.A").is_err());
        assert_eq!(parse("{{/* c */}}x").unwrap(), vec![Node::Text("x".into())]);
        let p = pipe("(index .M \"k\").Name").unwrap();
        assert!(matches!(&p.cmds[0][0], Arg::Sub(_, f) if f == &vec!["Name".to_owned()]));
    }
}
