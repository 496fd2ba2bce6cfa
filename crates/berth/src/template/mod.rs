//! Go text/template over JSON, for `--format`: what docker users write (`{{.State.Pid}}`,
//! `{{json .Config}}`, `{{range .Mounts}}{{.Source}}{{end}}`, `{{index .Config.Labels "k"}}`,
//! `{{if eq .State.Status "running"}}`, `{{printf "%-10s" .Name}}`), with Go's builtins and
//! docker's extra functions (json, join, split, lower, upper, title, pad, truncate).
//!
//! Written here rather than taken from a crate: the one maintained Rust implementation
//! (gtmpl) prints lists and maps in Rust's debug form (`[String("a")]` where Go prints `[a]`),
//! ignores `%q`, and keeps maps unordered, so `{{json .Config}}` could not keep Docker's order.
//!
//! ```ignore
//! let t = Template::parse("{{.Name}} {{index .Labels \"k\"}}")?;
//! let out = t.render(&value)?;
//! ```

mod parse;
mod printf;
mod value;

use std::borrow::Cow;
use std::fmt::Write;

pub use value::{escape_html, Value, METHOD_PREFIX};

use parse::{Arg, Node, Pipe};

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
    strict: Strict,
    /// The text as the user typed it, for the positions in errors.
    source: String,
}

/// What looking up a name that is not there does. Docker executes its templates over Go
/// structs (lists) or maps with `missingkey=error` (inspect), so a wrong name is an error there.
#[derive(Debug, Clone, Default)]
pub enum Strict {
    /// `<no value>`.
    #[default]
    Lenient,
    /// `inspect`: docker runs the template over its typed struct first, where a name that is
    /// no field fails and a key missing from one of the struct's maps (labels, options...)
    /// gives `<no value>`; the failure then repeats over the raw JSON with missingkey=error.
    MapKeys,
    /// The rows of a list: the formatter's type, named as docker names it, has no such field.
    /// `prefix` is how the command introduces the error.
    Fields { type_name: &'static str, prefix: &'static str },
}

type R<T> = Result<T, TemplateError>;

impl Template {
    pub fn parse(src: &str) -> R<Template> {
        parse::parse(src).map(|nodes| Template { nodes, strict: Strict::Lenient, source: src.to_owned() }).map_err(|e| TemplateError(format!("template parsing error: {e}")))
    }

    /// Makes a wrong name an error, as docker's; `source` is the text as the user typed it.
    pub fn strict(mut self, strict: Strict, source: &str) -> Template {
        self.strict = strict;
        self.source = source.to_owned();
        self
    }

    /// Executes the template with `data` as `.` and `$`.
    pub fn render(&self, data: &Value) -> R<String> {
        let mut out = String::new();
        self.render_into(data, false, &mut out)?;
        Ok(out)
    }

    /// Renders a row of a list (ps, images) at the end of `out`: there docker's `json` escapes
    /// `<`, `>` and `&` (its list rows marshal themselves with `json.Marshal`).
    pub fn render_row(&self, data: &Value, out: &mut String) -> R<()> {
        self.render_into(data, true, out)
    }

    fn render_into(&self, data: &Value, escape_html: bool, out: &mut String) -> R<()> {
        let mut ex = Exec { out, vars: Vec::new(), root: data, escape_html, strict: &self.strict, source: &self.source, complete_error: false };
        let done = ex.walk(&self.nodes, data);
        let complete = ex.complete_error;
        done.map_err(|e| if complete { e } else { TemplateError(format!("template: executing: {e}")) })
    }

    /// The top-level fields of the data that rendering can read (`ID` and `Label` for
    /// `{{.ID}} {{.Label "k"}}`), or `None` when it may read the data whole (`{{json .}}`,
    /// `{{.}}`, `{{$}}`). A list can then build only those fields of each row.
    pub fn fields_read(&self) -> Option<Vec<&str>> {
        let mut out = Vec::new();
        nodes_fields(&self.nodes, true, &mut out).then_some(out)
    }
}

/// Adds to `out` the root's fields that `nodes` read; false when they may read the root whole.
/// `at_root` says whether `.` is the root there (not inside `with` or `range`, where it is a
/// value reached through a field already counted).
fn nodes_fields<'t>(nodes: &'t [Node], at_root: bool, out: &mut Vec<&'t str>) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(_) => true,
        Node::Action(p) => pipe_fields(p, at_root, out),
        Node::If { pipe, then, otherwise } => pipe_fields(pipe, at_root, out) && nodes_fields(then, at_root, out) && nodes_fields(otherwise, at_root, out),
        Node::With { pipe, body, otherwise } | Node::Range { pipe, body, otherwise } => {
            pipe_fields(pipe, at_root, out) && nodes_fields(body, false, out) && nodes_fields(otherwise, at_root, out)
        }
    })
}

fn pipe_fields<'t>(p: &'t Pipe, at_root: bool, out: &mut Vec<&'t str>) -> bool {
    p.cmds.iter().flatten().all(|a| match a {
        Arg::Field(path) if at_root => push_first(path, out),
        Arg::Var(name, path) if name == "$" => push_first(path, out),
        Arg::Sub(p, _) => pipe_fields(p, at_root, out),
        _ => true,
    })
}

/// Adds the first step of `path` to `out`; false for an empty path (the root itself).
fn push_first<'t>(path: &'t [String], out: &mut Vec<&'t str>) -> bool {
    let Some(first) = path.first() else { return false };
    out.push(first);
    true
}

struct Exec<'a> {
    out: &'a mut String,
    /// Declared variables, innermost last; `$` is `root` unless one of them is named so.
    vars: Vec<(String, Value)>,
    root: &'a Value,
    escape_html: bool,
    strict: &'a Strict,
    source: &'a str,
    /// The error returned is already worded as docker words it.
    complete_error: bool,
}

impl<'a> Exec<'a> {
    fn walk(&mut self, nodes: &[Node], dot: &Value) -> R<()> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.decl.is_empty() {
                        write!(self.out, "{v}").expect("writing to a String cannot fail");
                    }
                }
                Node::If { pipe, then, otherwise } => {
                    let mark = self.vars.len();
                    let truthy = self.pipe(pipe, dot)?.truthy();
                    self.walk(if truthy { then } else { otherwise }, dot)?;
                    self.vars.truncate(mark);
                }
                Node::With { pipe, body, otherwise } => {
                    let mark = self.vars.len();
                    let v = self.pipe(pipe, dot)?;
                    if v.truthy() {
                        self.walk(body, &v)?;
                    } else {
                        self.walk(otherwise, dot)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range { pipe, body, otherwise } => self.range(pipe, body, otherwise, dot)?,
            }
        }
        Ok(())
    }

    fn range(&mut self, pipe: &Pipe, body: &[Node], otherwise: &[Node], dot: &Value) -> R<()> {
        let v = self.cmds(&pipe.cmds, dot)?.into_owned();
        let items: Vec<(Value, Value)> = match v {
            Value::List(l) => l.into_iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v)).collect(),
            Value::Map(mut m) => {
                m.sort_by(|a, b| a.0.cmp(&b.0));
                m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect()
            }
            Value::Int(n) => (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Null | Value::Missing => Vec::new(),
            other => return Err(TemplateError(format!("range can't iterate over {other}"))),
        };
        if items.is_empty() {
            return self.walk(otherwise, dot);
        }
        for (k, v) in items {
            let mark = self.vars.len();
            match pipe.decl.as_slice() {
                [] => {}
                [e] => self.vars.push((e.clone(), v.clone())),
                [i, e, ..] => {
                    self.vars.push((i.clone(), k));
                    self.vars.push((e.clone(), v.clone()));
                }
            }
            self.walk(body, &v)?;
            self.vars.truncate(mark);
        }
        Ok(())
    }

    /// A pipeline's value, declaring its variable if it has one.
    fn pipe<'v>(&mut self, p: &Pipe, dot: &'v Value) -> R<Cow<'v, Value>>
    where
        'a: 'v,
    {
        let v = self.cmds(&p.cmds, dot)?;
        if let Some(name) = p.decl.first() {
            self.vars.push((name.clone(), v.clone().into_owned()));
        }
        Ok(v)
    }

    /// The value of commands joined by `|`, each one's value the last argument of the next.
    fn cmds<'v>(&mut self, cmds: &[Vec<Arg>], dot: &'v Value) -> R<Cow<'v, Value>>
    where
        'a: 'v,
    {
        let mut last: Option<Cow<'v, Value>> = None;
        for cmd in cmds {
            last = Some(self.command(cmd, dot, last)?);
        }
        Ok(last.unwrap_or(Cow::Owned(Value::Missing)))
    }

    fn command<'v>(&mut self, cmd: &[Arg], dot: &'v Value, piped: Option<Cow<'v, Value>>) -> R<Cow<'v, Value>>
    where
        'a: 'v,
    {
        if let Arg::Func(name) = &cmd[0] {
            let mut args = Vec::with_capacity(cmd.len());
            for a in &cmd[1..] {
                args.push(self.arg(a, dot)?.into_owned());
            }
            args.extend(piped.map(Cow::into_owned));
            return call(name, args, self.escape_html).map(Cow::Owned);
        }
        // A method with one argument, such as ps's `{{.Label "key"}}`: the data carries it as a
        // map under `METHOD_PREFIX` + its name.
        if let (Arg::Field(path), [arg]) = (&cmd[0], &cmd[1..]) {
            if let Some((name, parent)) = path.split_last() {
                let holder = field(dot, parent);
                let method = holder.get(&format!("{METHOD_PREFIX}{name}"));
                if matches!(method, Value::Map(_)) && piped.is_none() {
                    let key = self.arg(arg, dot)?;
                    // Docker's label lookup answers "" for a label that is not there.
                    return Ok(match method.get(&key.to_string()) {
                        Value::Missing => Cow::Owned(Value::Str(String::new())),
                        v => Cow::Borrowed(v),
                    });
                }
            }
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err(TemplateError(format!("can't give argument to non-function {:?}", cmd[0])));
        }
        self.arg(&cmd[0], dot)
    }

    fn arg<'v>(&mut self, a: &Arg, dot: &'v Value) -> R<Cow<'v, Value>>
    where
        'a: 'v,
    {
        Ok(match a {
            Arg::Field(path) => Cow::Borrowed(self.lookup(dot, path)?),
            Arg::Var(name, path) => match self.vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => Cow::Owned(field(v, path).clone()),
                None if name == "$" => Cow::Borrowed(field(self.root, path)),
                None => return Err(TemplateError(format!("undefined variable: {name}"))),
            },
            Arg::Func(name) => Cow::Owned(call(name, Vec::new(), self.escape_html)?),
            Arg::Str(s) => Cow::Owned(Value::Str(s.clone())),
            Arg::Int(i) => Cow::Owned(Value::Int(*i)),
            Arg::Float(f) => Cow::Owned(Value::Float(*f)),
            Arg::Bool(b) => Cow::Owned(Value::Bool(*b)),
            Arg::Nil => Cow::Owned(Value::Null),
            Arg::Sub(p, path) => match self.pipe(p, dot)? {
                Cow::Borrowed(v) => Cow::Borrowed(field(v, path)),
                Cow::Owned(v) => Cow::Owned(field(&v, path).clone()),
            },
        })
    }
}

/// Fields of docker's inspect structs that are Go maps with keys of the user's choosing: a key
/// missing there is no error.
const FREE_MAPS: &[&str] = &[
    "Labels", "Options", "DriverOpts", "Annotations", "ExposedPorts", "Volumes", "Ports", "PortBindings", "Networks", "Containers", "Sysctls",
    "StorageOpt", "Tmpfs", "Data", "Status",
];

impl Exec<'_> {
    /// The value at `path` under `dot`, or docker's error for a name that is not there.
    fn lookup<'v>(&mut self, dot: &'v Value, path: &[String]) -> R<&'v Value> {
        match self.strict {
            Strict::Lenient => {}
            Strict::MapKeys => {
                let mut cur = dot;
                let mut parent: Option<&str> = None;
                for k in path {
                    let next = cur.get(k);
                    let free_map = parent.is_some_and(|p| FREE_MAPS.contains(&p));
                    if matches!(cur, Value::Map(_)) && matches!(next, Value::Missing) && !free_map {
                        return Err(self.missing(path, "template parsing error: ", &format!("map has no entry for key {k:?}")));
                    }
                    cur = next;
                    parent = Some(k);
                }
                return Ok(cur);
            }
            Strict::Fields { type_name, prefix } => {
                if let Some(first) = path.first().filter(|_| std::ptr::eq(dot, self.root)) {
                    if matches!(dot.get(first), Value::Missing) && matches!(dot.get(&format!("{METHOD_PREFIX}{first}")), Value::Missing) {
                        return Err(self.missing(path, prefix, &format!("can't evaluate field {first} in type {type_name}")));
                    }
                }
            }
        }
        Ok(field(dot, path))
    }

    /// Go's execution error for the field chain `path`, at the position of the chain's last
    /// name in the text as typed: `template: :1:9: executing "" at <.Config.Nope>: …`.
    fn missing(&mut self, path: &[String], prefix: &str, reason: &str) -> TemplateError {
        self.complete_error = true;
        let chain = format!(".{}", path.join("."));
        let last = path.last().map_or(0, |l| l.len() + 1);
        let at = self.source.find(&chain).map_or(0, |i| i + chain.len() - last);
        let line = 1 + self.source[..at].matches('\n').count();
        let col = at - self.source[..at].rfind('\n').map_or(0, |n| n + 1);
        TemplateError(format!("{prefix}template: :{line}:{col}: executing \"\" at <{chain}>: {reason}"))
    }
}

/// The value at `path` under `v` ([`Value::Missing`] where a step is not there).
fn field<'v>(v: &'v Value, path: &[String]) -> &'v Value {
    path.iter().fold(v, |cur, f| cur.get(f))
}

fn want(args: &[Value], n: usize, name: &str) -> R<()> {
    if args.len() != n {
        return Err(TemplateError(format!("wrong number of args for {name}: want {n} got {}", args.len())));
    }
    Ok(())
}

fn str_of(v: &Value) -> String {
    v.to_string()
}

/// Go's builtins and docker's template functions.
fn call(name: &str, args: Vec<Value>, escape_html: bool) -> R<Value> {
    Ok(match name {
        "json" => {
            want(&args, 1, name)?;
            let j = args[0].to_json();
            Value::Str(if escape_html { value::escape_html(&j) } else { j })
        }
        "len" => {
            want(&args, 1, name)?;
            Value::Int(match &args[0] {
                Value::Str(s) => s.len(),
                Value::List(l) => l.len(),
                Value::Map(m) => m.len(),
                Value::Null | Value::Missing => 0,
                other => return Err(TemplateError(format!("len of {other}"))),
            } as i64)
        }
        "index" => {
            let mut it = args.into_iter();
            let mut cur = it.next().ok_or_else(|| TemplateError("wrong number of args for index".to_owned()))?;
            for key in it {
                cur = match (&cur, &key) {
                    // Docker's typed maps of strings (labels, options) give their zero value,
                    // "", for a key they lack; with no other sign of the type, a map whose
                    // values are all strings is taken for one.
                    (Value::Map(m), Value::Str(k)) => match cur.get(k) {
                        Value::Missing if m.iter().all(|(_, v)| matches!(v, Value::Str(_))) => Value::Str(String::new()),
                        v => v.clone(),
                    },
                    (Value::List(l), k) => {
                        let i = k.as_i64().ok_or_else(|| TemplateError(format!("cannot index slice with {k}")))?;
                        l.get(usize::try_from(i).unwrap_or(usize::MAX)).cloned().ok_or_else(|| TemplateError(format!("index out of range: {i}")))?
                    }
                    (Value::Null | Value::Missing, _) => Value::Missing,
                    (c, k) => return Err(TemplateError(format!("can't index item of type {} with {k}", kind(c)))),
                };
            }
            cur
        }
        "print" => Value::Str(go_print(&args)),
        "println" => Value::Str(args.iter().map(str_of).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            let (fmt, rest) = args.split_first().ok_or_else(|| TemplateError("wrong number of args for printf".to_owned()))?;
            Value::Str(printf::sprintf(&str_of(fmt), rest))
        }
        "not" => {
            want(&args, 1, name)?;
            Value::Bool(!args[0].truthy())
        }
        "and" => args.iter().find(|v| !v.truthy()).or(args.last()).cloned().unwrap_or(Value::Missing),
        "or" => args.iter().find(|v| v.truthy()).or(args.last()).cloned().unwrap_or(Value::Missing),
        "eq" => {
            let (first, rest) = args.split_first().ok_or_else(|| TemplateError("missing argument for comparison".to_owned()))?;
            Value::Bool(rest.iter().any(|v| compare(first, v) == Some(std::cmp::Ordering::Equal)))
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            want(&args, 2, name)?;
            let o = compare(&args[0], &args[1]).ok_or_else(|| TemplateError(format!("incompatible types for comparison: {} and {}", kind(&args[0]), kind(&args[1]))))?;
            use std::cmp::Ordering::*;
            Value::Bool(match name {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        "join" => {
            want(&args, 2, name)?;
            let Value::List(l) = &args[0] else { return Ok(Value::Str(str_of(&args[0]))) };
            Value::Str(l.iter().map(str_of).collect::<Vec<_>>().join(&str_of(&args[1])))
        }
        "split" => {
            want(&args, 2, name)?;
            Value::List(str_of(&args[0]).split(&str_of(&args[1])).map(Value::from).collect())
        }
        "lower" => Value::Str(str_of(args.first().unwrap_or(&Value::Missing)).to_lowercase()),
        "upper" => Value::Str(str_of(args.first().unwrap_or(&Value::Missing)).to_uppercase()),
        "title" => Value::Str(title(&str_of(args.first().unwrap_or(&Value::Missing)))),
        "pad" => {
            want(&args, 3, name)?;
            let n = |v: &Value| v.as_i64().unwrap_or(0).max(0) as usize;
            let s = str_of(&args[0]);
            // docker pads only what is there: `labels: {{- pad .Labels 1 0}}` is `labels:` alone.
            Value::Str(if s.is_empty() { s } else { format!("{}{s}{}", " ".repeat(n(&args[1])), " ".repeat(n(&args[2]))) })
        }
        "truncate" => {
            want(&args, 2, name)?;
            let s = str_of(&args[0]);
            let n = args[1].as_i64().unwrap_or(0).max(0) as usize;
            Value::Str(s.chars().take(n).collect())
        }
        _ => return Err(TemplateError(format!("function {name:?} not defined"))),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Missing | Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let f = |v: &Value| match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            f(a).partial_cmp(&f(b))
        }
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null | Value::Missing, Value::Null | Value::Missing) => Some(std::cmp::Ordering::Equal),
        _ => None,
    }
}

/// Go's `fmt.Sprint`: spaces only between operands that are not both strings.
fn go_print(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&a.to_string());
    }
    out
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str, json: &str) -> String {
        let v: Value = serde_json::from_str(json).unwrap();
        Template::parse(t).unwrap().render(&v).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    const INSPECT: &str = r#"{"Id":"abc","Name":"/web","State":{"Status":"running","Pid":1234,"Running":true},
        "Config":{"Env":["A=1","B=2"],"Labels":{"k":"v","com.x":"y"},"Cmd":null},
        "Mounts":[{"Source":"/a","Destination":"/x"},{"Source":"/b","Destination":"/y"}]}"#;

    #[test]
    fn what_docker_users_write() {
        assert_eq!(render("{{.State.Pid}}", INSPECT), "1234");
        assert_eq!(render("{{json .Config}}", INSPECT), r#"{"Env":["A=1","B=2"],"Labels":{"k":"v","com.x":"y"},"Cmd":null}"#);
        assert_eq!(render("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", INSPECT), "/a:/x /b:/y ");
        assert_eq!(render(r#"{{index .Config.Labels "com.x"}}"#, INSPECT), "y");
        // A label that is not there: a Go map of strings gives "", as docker prints it.
        assert_eq!(render(r#"[{{index .Config.Labels "nope"}}]"#, INSPECT), "[]");
        assert_eq!(render(r#"[{{index .State "nope"}}]"#, INSPECT), "[<no value>]");
        assert_eq!(render(r#"{{if eq .State.Status "running" "paused"}}up{{else}}down{{end}}"#, INSPECT), "up");
        assert_eq!(render("{{.Config.Env}} {{.Config.Labels}} {{.Nope}} {{.Config.Cmd}}", INSPECT), "[A=1 B=2] map[com.x:y k:v] <no value> <nil>");
        assert_eq!(render("{{range $i, $e := .Config.Env}}{{$i}}={{$e}};{{end}}", INSPECT), "0=A=1;1=B=2;");
        assert_eq!(render("{{with .State}}{{.Status}}{{end}}{{with .Nope}}x{{else}}none{{end}}", INSPECT), "runningnone");
        assert_eq!(render(r#"{{printf "%-8s|%5d|%q" .Name .State.Pid .State.Status}}"#, INSPECT), r#"/web    | 1234|"running""#);
        assert_eq!(render(r#"{{.Name | printf "%s!"}}"#, INSPECT), "/web!");
        assert_eq!(render(r#"{{join .Config.Env ","}} {{len .Mounts}} {{upper .Id}} {{title "ab cd"}}"#, INSPECT), "A=1,B=2 2 ABC Ab Cd");
        assert_eq!(render("{{$n := .Name}}{{range .Mounts}}{{$n}}{{end}}", INSPECT), "/web/web");
        assert_eq!(render("{{(index .Mounts 1).Source}} {{not .State.Running}} {{and 1 0}} {{or 0 \"x\"}}", INSPECT), "/b false 0 x");
        assert_eq!(render("{{range .Config.Env}}{{println .}}{{end}}", INSPECT), "A=1\nB=2\n");
        assert_eq!(render("{{truncate .Id 2}}{{pad .Id 1 1}}", INSPECT), "ab abc ");
        assert_eq!(render("x:{{pad .Name 1 0}}.", r#"{"Name":""}"#), "x:.");
        assert_eq!(render("{{if gt .State.Pid 1000}}big{{end}}", INSPECT), "big");
        // One-argument methods (ps's .Label), invisible to json and printing.
        let row = r#"{"Labels":"a=1","()Label":{"a":"1"}}"#;
        assert_eq!(render(r#"{{.Label "a"}}|{{.Label "b"}}|{{json .}}"#, row), r#"1||{"Labels":"a=1"}"#);
    }

    #[test]
    fn fields_read_are_those_of_the_root() {
        let fields = |t: &str| Template::parse(t).unwrap().fields_read().map(|f| f.into_iter().map(str::to_owned).collect::<Vec<_>>());
        assert_eq!(fields("{{.ID}}\t{{.Names}} {{.Label \"k\"}}"), Some(vec!["ID".to_owned(), "Names".to_owned(), "Label".to_owned()]));
        assert_eq!(fields("{{with .State}}{{.Pid}}{{end}} {{range $i, $e := .Env}}{{$e}}{{end}}"), Some(vec!["State".to_owned(), "Env".to_owned()]));
        assert_eq!(fields("{{if .A}}{{$.B.C}}{{else}}{{(index .D 1).E}}{{end}}"), Some(vec!["A".to_owned(), "B".to_owned(), "D".to_owned()]));
        assert_eq!(fields("{{json .}}"), None);
        assert_eq!(fields("{{.}}"), None);
        assert_eq!(fields("{{with .A}}{{$}}{{end}}"), None);
        assert_eq!(fields("{{$x := .}}{{$x.A}}"), None);
    }

    #[test]
    fn errors_name_the_problem() {
        let v: Value = serde_json::from_str(INSPECT).unwrap();
        let e = Template::parse("{{.Name").unwrap_err();
        assert!(e.0.contains("unclosed action"), "{e}");
        let e = Template::parse("{{nofunc .Name}}").unwrap().render(&v).unwrap_err();
        assert!(e.0.contains("function \"nofunc\" not defined"), "{e}");
        let e = Template::parse("{{lt .Name 1}}").unwrap().render(&v).unwrap_err();
        assert!(e.0.contains("incompatible types"), "{e}");
    }
}
