//! The control protocol on `<state-dir>/shim.sock`: one JSON request per line, one JSON reply
//! per line. After a successful `attach` the connection carries the container's output (for a
//! container without a tty, in Docker's multiplexed frames: `[stream, 0, 0, 0, size as u32 BE]`
//! then the payload; with a tty, raw) and, when `stdin` was asked for, what the client writes
//! goes to the container's stdin.
//!
//! ```text
//! → {"op":"state"}                  ← {"ok":true,"id":"web","pid":4242,"shim_pid":4240,"status":"running"}
//! → {"op":"kill","signal":15}       ← {"ok":true}
//! → {"op":"resize","height":40,"width":120}   ← {"ok":true}           (tty only)
//! → {"op":"close_stdin"}            ← {"ok":true}
//! → {"op":"start"}                  ← {"ok":true,"pid":4242}   (a shim started with --hold)
//! → {"op":"attach","stdin":true,"stdout":true,"stderr":true}   ← {"ok":true}, then the streams
//!   (`"stdin_once":true`: the client's end of input closes the container's stdin)
//! ← {"ok":false,"error":"..."}      on any failure
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    State,
    Kill { signal: i32 },
    Resize { height: u16, width: u16 },
    Attach {
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
        /// When this client's input ends, close the container's stdin (after writing what it
        /// sent): Docker's `StdinOnce`, and every exec.
        #[serde(default)]
        stdin_once: bool,
    },
    /// Closes the shim's write end of the container's stdin (the container reads EOF).
    CloseStdin,
    /// Starts the held container (or runs the held exec process).
    Start,
}

/// The 8-byte header of one multiplexed frame.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let n = u32::try_from(len).expect("frames are smaller than 4 GiB").to_be_bytes();
    [stream, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        let r: Request = serde_json::from_str(r#"{"op":"attach","stdout":true}"#).expect("parses");
        assert_eq!(r, Request::Attach { stdin: false, stdout: true, stderr: false, stdin_once: false });
        let r: Request = serde_json::from_str(r#"{"op":"kill","signal":9}"#).expect("parses");
        assert_eq!(r, Request::Kill { signal: 9 });
        assert!(serde_json::from_str::<Request>(r#"{"op":"reboot"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"kill","signal":"x"}"#).is_err());
    }

    #[test]
    fn frame_header_is_big_endian() {
        assert_eq!(frame_header(2, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
    }
}
