//! Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %q %t %f %x %%`, with the `-`
//! and `0` flags, a width and a precision.

use super::Value;

pub fn sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero) = (false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let body = match verb {
            's' | 'v' => {
                let s = arg.to_string();
                match precision {
                    Some(p) if verb == 's' => s.chars().take(p).collect(),
                    _ => s,
                }
            }
            'q' => serde_json::to_string(&arg.to_string()).expect("a string serializes"),
            'd' => match arg.as_i64() {
                Some(i) => i.to_string(),
                None => format!("%!d({arg})"),
            },
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => format!("%!t({other})"),
            },
            'f' => {
                let x = match arg {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    other => {
                        out.push_str(&format!("%!f({other})"));
                        continue;
                    }
                };
                format!("{x:.*}", precision.unwrap_or(6))
            }
            'x' => match arg {
                Value::Int(i) => format!("{i:x}"),
                other => other.to_string().bytes().map(|b| format!("{b:02x}")).collect(),
            },
            other => format!("%!{other}({arg})"),
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = body.chars().count();
        if len >= w {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(w - len));
        } else {
            out.push_str(&(if zero { "0" } else { " " }).repeat(w - len));
            out.push_str(&body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_flags_and_widths() {
        let a = [Value::from("ab"), Value::Int(7), Value::Float(1.5), Value::Bool(true)];
        assert_eq!(sprintf("%s|%5s|%-5s|%.1s", &[a[0].clone(), a[0].clone(), a[0].clone(), a[0].clone()]), "ab|   ab|ab   |a");
        assert_eq!(sprintf("%d %03d %v %.2f %t %q %x 100%%", &[a[1].clone(), a[1].clone(), a[2].clone(), a[2].clone(), a[3].clone(), a[0].clone(), Value::Int(255)]), "7 007 1.5 1.50 true \"ab\" ff 100%");
        assert_eq!(sprintf("%s %s", &[a[0].clone()]), "ab %!s(MISSING)");
    }
}
