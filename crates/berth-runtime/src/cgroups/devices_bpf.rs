//! Device rules → a `BPF_PROG_TYPE_CGROUP_DEVICE` program: cgroup v2's devices controller.
//! Pure: this builds instructions; `sys::bpf` loads and attaches them.
//!
//! The kernel runs the program on each device access with a context of three u32s:
//! `access_type` (`access << 16 | type`, type 1 = block, 2 = char; access bits mknod 1, read 2,
//! write 4), `major` and `minor`. A return of 1 allows, 0 denies.
//!
//! OCI rules apply in order and a later rule overrides an earlier one, so the program tests the
//! rules last to first and returns at the first match; no match denies (what v1 gets by
//! writing `a` to devices.deny first). A rule that matches everything ends the program: the
//! verifier refuses unreachable instructions after it.

use super::plan::{DeviceRule, ACC_MKNOD, ACC_READ, ACC_WRITE};

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// dst_reg and src_reg, 4 bits each, in the machine's bitfield order.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes (class | op | source).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU64_AND_K: u8 = 0x57;
const ALU64_RSH_K: u8 = 0x77;
const ALU64_MOV_K: u8 = 0xb7;
const JMP_JNE_K: u8 = 0x55;
const JMP_JSET_K: u8 = 0x45;
const JMP_EXIT: u8 = 0x95;

const R0: u8 = 0;
const R1: u8 = 1; // context pointer on entry
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

fn regs(dst: u8, src: u8) -> u8 {
    if cfg!(target_endian = "little") {
        (src << 4) | dst
    } else {
        (dst << 4) | src
    }
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: regs(dst, src), off, imm }
}

/// Builds the program for `rules` (see the module docs for its shape).
pub fn build_program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, R_TYPE, R1, 0, 0),
        insn(ALU64_AND_K, R_TYPE, 0, 0, 0xffff),
        insn(LDX_MEM_W, R_ACCESS, R1, 0, 0),
        insn(ALU64_RSH_K, R_ACCESS, 0, 0, 16),
        insn(LDX_MEM_W, R_MAJOR, R1, 4, 0),
        insn(LDX_MEM_W, R_MINOR, R1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        // Each check jumps over the rest of this rule's block when the rule does not match.
        let mut checks: Vec<(u8, u8, i32)> = Vec::new();
        match rule.kind {
            'b' => checks.push((JMP_JNE_K, R_TYPE, DEV_BLOCK)),
            'c' => checks.push((JMP_JNE_K, R_TYPE, DEV_CHAR)),
            _ => {}
        }
        let all = ACC_MKNOD | ACC_READ | ACC_WRITE;
        if rule.access & all != all {
            // Any requested bit outside the rule's access: no match.
            checks.push((JMP_JSET_K, R_ACCESS, i32::from(!rule.access & all)));
        }
        if let Some(m) = rule.major {
            checks.push((JMP_JNE_K, R_MAJOR, dev_imm(m)));
        }
        if let Some(m) = rule.minor {
            checks.push((JMP_JNE_K, R_MINOR, dev_imm(m)));
        }
        let n = checks.len();
        for (i, (code, reg, imm)) in checks.iter().enumerate() {
            // Remaining checks after this one, plus the mov and exit.
            let skip = (n - i - 1 + 2) as i16;
            prog.push(insn(*code, *reg, 0, skip, *imm));
        }
        prog.push(insn(ALU64_MOV_K, R0, 0, 0, i32::from(rule.allow)));
        prog.push(insn(JMP_EXIT, 0, 0, 0, 0));
        if n == 0 {
            return prog; // matches everything: nothing after it can run
        }
    }
    prog.push(insn(ALU64_MOV_K, R0, 0, 0, 0));
    prog.push(insn(JMP_EXIT, 0, 0, 0, 0));
    prog
}

/// Device numbers are compared as 64-bit values against a sign-extended 32-bit immediate;
/// real majors (12 bits) and minors (20 bits) are far below i32::MAX.
fn dev_imm(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(-1)
}

/// Runs the program on one access, the way the kernel would: for tests.
pub fn evaluate(prog: &[Insn], kind: char, major: u32, minor: u32, access: u8) -> Option<bool> {
    let ty: u64 = match kind {
        'b' => 1,
        'c' => 2,
        _ => return None,
    };
    let ctx = [u64::from(access) << 16 | ty, u64::from(major), u64::from(minor)];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    let unpack = |i: &Insn| {
        if cfg!(target_endian = "little") {
            (usize::from(i.regs & 0xf), usize::from(i.regs >> 4))
        } else {
            (usize::from(i.regs >> 4), usize::from(i.regs & 0xf))
        }
    };
    while let Some(i) = prog.get(pc) {
        let (dst, _src) = unpack(i);
        let imm = i64::from(i.imm) as u64;
        let mut next = pc + 1;
        match i.code {
            LDX_MEM_W => r[dst] = *ctx.get(usize::try_from(i.off).ok()? / 4)?,
            ALU64_AND_K => r[dst] &= imm,
            ALU64_RSH_K => r[dst] >>= imm,
            ALU64_MOV_K => r[dst] = imm,
            JMP_JNE_K if r[dst] != imm => next = pc + 1 + usize::try_from(i.off).ok()?,
            JMP_JSET_K if r[dst] & imm != 0 => next = pc + 1 + usize::try_from(i.off).ok()?,
            JMP_JNE_K | JMP_JSET_K => {}
            JMP_EXIT => return Some(r[0] == 1),
            _ => return None,
        }
        pc = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: char, major: Option<u32>, minor: Option<u32>, access: u8) -> DeviceRule {
        DeviceRule { allow, kind, major, minor, access }
    }

    const RWM: u8 = ACC_READ | ACC_WRITE | ACC_MKNOD;

    #[test]
    fn deny_all_then_allow_null_for_writing() {
        let rules = [rule(false, 'a', None, None, RWM), rule(true, 'c', Some(1), Some(3), ACC_WRITE)];
        let p = build_program(&rules);
        // header, 4 checks (type, access, major, minor) + mov + exit, then deny-all mov + exit.
        assert_eq!(p.len(), 6 + 6 + 2);
        assert_eq!(p[6], insn(JMP_JNE_K, R_TYPE, 0, 5, DEV_CHAR));
        assert_eq!(p[7], insn(JMP_JSET_K, R_ACCESS, 0, 4, i32::from(ACC_READ | ACC_MKNOD)));
        assert_eq!(p[8], insn(JMP_JNE_K, R_MAJOR, 0, 3, 1));
        assert_eq!(p[9], insn(JMP_JNE_K, R_MINOR, 0, 2, 3));
        assert_eq!(p[10], insn(ALU64_MOV_K, R0, 0, 0, 1));
        assert_eq!(p[12], insn(ALU64_MOV_K, R0, 0, 0, 0));
        assert_eq!(evaluate(&p, 'c', 1, 3, ACC_WRITE), Some(true));
        assert_eq!(evaluate(&p, 'c', 1, 3, ACC_READ), Some(false));
        assert_eq!(evaluate(&p, 'c', 1, 5, ACC_WRITE), Some(false));
        assert_eq!(evaluate(&p, 'b', 1, 3, ACC_WRITE), Some(false));
    }

    #[test]
    fn later_rules_override_earlier_ones_and_no_match_denies() {
        let rules = [
            rule(true, 'c', Some(1), None, RWM),      // all of major 1
            rule(false, 'c', Some(1), Some(5), RWM),  // except /dev/zero
        ];
        let p = build_program(&rules);
        assert_eq!(evaluate(&p, 'c', 1, 3, ACC_READ), Some(true));
        assert_eq!(evaluate(&p, 'c', 1, 5, ACC_READ), Some(false));
        assert_eq!(evaluate(&p, 'c', 5, 0, ACC_READ), Some(false));
        assert_eq!(evaluate(&p, 'b', 1, 3, ACC_READ), Some(false));
    }

    #[test]
    fn a_catch_all_rule_ends_the_program() {
        let rules = [rule(false, 'a', None, None, RWM), rule(true, 'a', None, None, RWM)];
        let p = build_program(&rules);
        assert_eq!(p.len(), 6 + 2);
        assert_eq!(evaluate(&p, 'b', 8, 0, ACC_MKNOD), Some(true));
        let empty = build_program(&[]);
        assert_eq!(evaluate(&empty, 'c', 1, 3, ACC_READ), Some(false));
    }
}
