use super::*;

fn spec(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).expect("test spec is valid OCI")
}

fn docker_default(caps: &[&str]) -> LinuxSeccomp {
    let caps: Vec<String> = caps.iter().map(|c| (*c).to_owned()).collect();
    docker_profile_to_oci(docker_default_profile(), &caps, Arch::X86_64, (6, 1)).expect("converts")
}

const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

#[test]
fn docker_default_profile_compiles() {
    let filter = compile(&docker_default(&DOCKER_CAPS)).expect("docker's profile compiles");
    assert!(!filter.needs_listener());
    assert_eq!(filter.kernel_flags(), 0);
    assert!(
        filter.instructions() > 100 && filter.instructions() <= sys::BPF_MAXINSNS,
        "{filter:?}"
    );
    assert_eq!(filter.to_bpf_bytes().len(), filter.instructions() * 8);
    // Rules whose action is the default one (ERRNO 1) are dropped, not refused.
    compile(&docker_default(&docker_caps_and_more())).expect("docker's profile with more caps compiles");
}

/// Docker's capabilities and those that open conditional rules of its profile.
fn docker_caps_and_more() -> Vec<&'static str> {
    let mut all = DOCKER_CAPS.to_vec();
    all.extend(["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT", "CAP_SYS_MODULE", "CAP_BPF"]);
    all
}

#[test]
fn unknown_syscalls_are_skipped() {
    let filter = compile(&spec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getpid","no_such_syscall"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .expect("compiles");
    assert_eq!(filter.skipped_syscalls(), ["no_such_syscall"]);
}

#[test]
fn every_action_and_operator_compiles() {
    let filter = compile(&spec(
        r#"{
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["acct"], "action": "SCMP_ACT_KILL"},
            {"names": ["swapon"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["swapoff"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["reboot"], "action": "SCMP_ACT_TRAP"},
            {"names": ["uselib"], "action": "SCMP_ACT_TRACE", "errnoRet": 5},
            {"names": ["sync"], "action": "SCMP_ACT_LOG"},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_NE"},
                {"index": 1, "value": 2, "op": "SCMP_CMP_LT"},
                {"index": 2, "value": 3, "op": "SCMP_CMP_LE"},
                {"index": 3, "value": 4, "op": "SCMP_CMP_EQ"},
                {"index": 4, "value": 5, "op": "SCMP_CMP_GE"},
                {"index": 5, "value": 255, "valueTwo": 6, "op": "SCMP_CMP_MASKED_EQ"}
            ]},
            {"names": ["setpgid"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 10, "op": "SCMP_CMP_GT"},
                {"index": 0, "value": 5, "op": "SCMP_CMP_LT"}
            ]}
        ]}"#,
    ))
    .expect("compiles");
    assert_eq!(
        filter.kernel_flags(),
        flag::LOG | flag::SPEC_ALLOW | flag::TSYNC
    );
    assert!(
        filter.skipped_syscalls().is_empty(),
        "{:?}",
        filter.skipped_syscalls()
    );
}

#[test]
fn notify_adds_a_listener_and_keeps_tsync_legal() {
    let filter = compile(&spec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/a.sock",
            "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    ))
    .expect("compiles");
    assert!(filter.needs_listener());
    assert_eq!(
        filter.kernel_flags(),
        flag::NEW_LISTENER | flag::TSYNC | flag::TSYNC_ESRCH | flag::WAIT_KILLABLE_RECV
    );
    let filter = compile(&spec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .expect("compiles");
    assert_eq!(
        filter.kernel_flags(),
        0,
        "WAIT_KILLABLE_RECV needs a listener; dropped"
    );
}

#[test]
fn notify_misuse_is_refused() {
    let err = compile(&spec(
        r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/a"}"#,
    ))
    .expect_err("refused");
    assert!(matches!(err, SeccompError::NotifyAsDefaultAction));
    let err = compile(&spec(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#))
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "seccomp profile uses SCMP_ACT_NOTIFY but sets no listenerPath"
    );
}

#[test]
fn out_of_range_values_are_refused() {
    let err = compile(&spec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":70000}]}"#,
    ))
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "seccomp rule for mkdir: errnoRet 70000 is out of range (0-65535)"
    );
    let err = compile(&spec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .expect_err("refused");
    assert!(
        matches!(err, SeccompError::ArgIndexOutOfRange { index: 6, .. }),
        "{err}"
    );
}

#[test]
fn shared_argument_indices_are_detected() {
    let arg = |index: usize| {
        oci_spec::runtime::LinuxSeccompArgBuilder::default()
            .index(index)
            .build()
            .expect("valid arg")
    };
    assert!(!shares_an_index(&[arg(0), arg(1), arg(5)]));
    assert!(shares_an_index(&[arg(0), arg(1), arg(0)]));
}

#[test]
fn error_messages_read_as_a_chain() {
    let err = SeccompError::LoadPermissionDenied;
    assert_eq!(
        err.to_string(),
        "load seccomp filter: permission denied: no_new_privs is off and CAP_SYS_ADMIN is gone"
    );
    let err = SeccompError::ConnectListener {
        path: "/run/agent.sock".into(),
        source: io::Error::from_raw_os_error(libc::ENOENT),
    };
    assert_eq!(
        err.to_string(),
        "connect to seccomp listener socket /run/agent.sock"
    );
}

#[test]
fn a_cached_program_is_the_compiled_one_and_only_for_its_own_profile() {
    let dir = std::env::temp_dir().join(format!("berth-seccomp-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let default = docker_default(&["CAP_CHOWN"]);
    let fresh = compile(&default).expect("compile");
    let first = compile_cached(&default, &dir).expect("first, compiled and stored");
    let again = compile_cached(&default, &dir).expect("second, read back");
    assert_eq!(first.to_bpf_bytes(), fresh.to_bpf_bytes());
    assert_eq!(again.to_bpf_bytes(), fresh.to_bpf_bytes());
    assert_eq!((again.kernel_flags(), again.needs_listener()), (fresh.kernel_flags(), fresh.needs_listener()));
    assert_eq!(std::fs::read_dir(&dir).expect("cache dir").count(), 1);
    // another profile gets its own program, never the cached one
    let other = docker_default(&["CAP_SYS_ADMIN"]);
    assert_eq!(compile_cached(&other, &dir).expect("other").to_bpf_bytes(), compile(&other).expect("compile").to_bpf_bytes());
    // an entry that is damaged, or that names another profile, is compiled again
    for e in std::fs::read_dir(&dir).expect("cache dir").flatten() {
        std::fs::write(e.path(), b"{not json").expect("damage");
    }
    assert_eq!(compile_cached(&default, &dir).expect("after damage").to_bpf_bytes(), fresh.to_bpf_bytes());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn only_a_profile_that_allows_the_inits_last_steps_may_load_early() {
    assert!(compile(&docker_default(&DOCKER_CAPS)).expect("compile").allows_init_tail(), "Docker's profile allows them");
    let blocks_capset = spec(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["capset"],"action":"SCMP_ACT_ERRNO"}]}"#);
    assert!(!compile(&blocks_capset).expect("compile").allows_init_tail());
    let conditional = spec(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["prctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":24,"op":"SCMP_CMP_EQ"}]}]}"#);
    assert!(!compile(&conditional).expect("compile").allows_init_tail(), "prctl refused with some arguments");
    let everything = spec(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#);
    let f = compile(&everything).expect("compile");
    assert!(f.allows_init_tail());
    // The verdict crosses the init's re-execution with the program.
    assert!(Filter::from(FilterWire::from(&f)).allows_init_tail());
}

/// Runs a classic BPF seccomp program on one `struct seccomp_data`, as the kernel would, and
/// returns its verdict. Knows the instructions libseccomp emits; any other fails the test.
fn run_program(program: &[SockFilter], data: &[u8; 64]) -> u32 {
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let insn = &program[pc];
        pc += 1;
        match insn.code {
            // BPF_LD | BPF_W | BPF_ABS
            0x20 => {
                let at = insn.k as usize;
                acc = u32::from_ne_bytes(data[at..at + 4].try_into().expect("4 bytes"));
            }
            // BPF_ALU | BPF_AND | BPF_K
            0x54 => acc &= insn.k,
            // BPF_JMP | BPF_JA
            0x05 => pc += insn.k as usize,
            // BPF_JMP | BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, each with BPF_K
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match insn.code {
                    0x15 => acc == insn.k,
                    0x25 => acc > insn.k,
                    0x35 => acc >= insn.k,
                    _ => acc & insn.k != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            // BPF_RET | BPF_K
            0x06 => return insn.k,
            code => panic!("instruction {code:#x} at {} is not one libseccomp emits", pc - 1),
        }
    }
}

/// `struct seccomp_data` for one call.
fn seccomp_data(arch: u32, nr: u32, args: [u64; 6]) -> [u8; 64] {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, arg) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
    }
    data
}

#[test]
fn the_binary_tree_decides_every_call_as_the_run_of_comparisons_does() {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const X32_BIT: u32 = 0x4000_0000;
    for caps in [DOCKER_CAPS.to_vec(), docker_caps_and_more()] {
        let profile = docker_default(&caps);
        let tree = compile(&profile).expect("compiles as a tree");
        let run = compile_at(&profile, 1).expect("compiles as a run");
        assert_ne!(tree.program.len(), run.program.len(), "the two levels give different programs");
        // Every value an argument is compared with, and its neighbours.
        let mut values = vec![0u64, 1, 2, u64::from(u32::MAX), 1 << 32, u64::MAX];
        for rule in profile.syscalls().as_deref().unwrap_or_default() {
            for arg in rule.args().as_deref().unwrap_or_default() {
                for v in [Some(arg.value()), arg.value_two()].into_iter().flatten() {
                    values.extend([v, v.wrapping_sub(1), v.wrapping_add(1), v | 1 << 40]);
                }
            }
        }
        values.sort_unstable();
        values.dedup();
        let mut calls = 0;
        for (arch, base) in [(AUDIT_ARCH_X86_64, 0), (AUDIT_ARCH_X86_64, X32_BIT), (AUDIT_ARCH_I386, 0), (0x1234, 0)] {
            for nr in (0..=560).map(|n| base | n) {
                let mut check = |args: [u64; 6]| {
                    let data = seccomp_data(arch, nr, args);
                    assert_eq!(
                        run_program(&tree.program, &data),
                        run_program(&run.program, &data),
                        "arch {arch:#x} syscall {nr:#x} args {args:?}"
                    );
                    calls += 1;
                };
                check([0; 6]);
                if arch == AUDIT_ARCH_X86_64 && base == 0 {
                    for index in 0..6 {
                        for v in &values {
                            let mut args = [0; 6];
                            args[index] = *v;
                            check(args);
                        }
                    }
                }
            }
        }
        assert!(calls > 10_000, "{calls}");
    }
}

#[test]
fn a_profile_too_large_for_a_tree_is_compiled_as_a_run() {
    // Four rules with distinct argument values per syscall, for more and more syscalls, until
    // the tree no longer fits in the kernel's 4096 instructions but the run does.
    let names: Vec<String> =
        docker_default(&DOCKER_CAPS).syscalls().as_deref().unwrap_or_default().iter().flat_map(|r| r.names().clone()).collect();
    let profile = |count: usize| {
        let mut rules = Vec::new();
        for (j, name) in names.iter().take(count).enumerate() {
            for v in 4 * j..4 * j + 4 {
                rules.push(format!(
                    r#"{{"names":["{name}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":{},"value":{},"valueTwo":{},"op":"SCMP_CMP_MASKED_EQ"}}]}}"#,
                    v % 6,
                    (v as u64 + 1) << 33 | 5,
                    (v as u64 + 3) << 35 | 7
                ));
            }
        }
        spec(&format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#, rules.join(",")))
    };
    // The fewest syscalls whose tree is too long (a binary search: the tree grows with them;
    // libseccomp takes about a second on all the syscalls, and 250 are too many already).
    let too_long = |count: usize| matches!(compile_at(&profile(count), 2), Err(SeccompError::TooManyInstructions { .. }));
    let (mut fits, mut over) = (1, 250);
    assert!(too_long(over));
    while over - fits > 1 {
        let mid = (fits + over) / 2;
        if too_long(mid) {
            over = mid;
        } else {
            fits = mid;
        }
    }
    let p = profile(over);
    assert!(compile_at(&p, 1).is_ok(), "{over} syscalls fit in 4096 instructions as a run");
    let filter = compile(&p).expect("compile falls back to a run");
    assert_eq!(filter.to_bpf_bytes(), compile_at(&p, 1).expect("a run").to_bpf_bytes());
}
