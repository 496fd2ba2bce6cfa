use super::*;

/// Docker's 14 default capabilities (../shared/DOCKER-DEFAULTS.md).
fn docker_caps() -> Vec<String> {
    [
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
    ]
    .map(String::from)
    .to_vec()
}

fn with(mut caps: Vec<String>, extra: &str) -> Vec<String> {
    caps.push(extra.to_owned());
    caps
}

fn convert(caps: &[String], kernel: (u32, u32)) -> LinuxSeccomp {
    docker_profile_to_oci(docker_default_profile(), caps, Arch::X86_64, kernel)
        .expect("docker's profile converts")
}

/// The rules that name `syscall`, with their action and conditions.
fn rules_for<'a>(spec: &'a LinuxSeccomp, syscall: &str) -> Vec<&'a LinuxSyscall> {
    spec.syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|s| s.names().iter().any(|n| n == syscall))
        .collect()
}

fn allowed_unconditionally(spec: &LinuxSeccomp, syscall: &str) -> bool {
    rules_for(spec, syscall).iter().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow
            && r.args().as_deref().unwrap_or_default().is_empty()
    })
}

#[test]
fn default_caps_leave_namespace_and_mount_syscalls_to_the_default_action() {
    let spec = convert(&docker_caps(), (6, 1));
    assert_eq!(spec.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(spec.default_errno_ret(), Some(1));
    for syscall in [
        "unshare",
        "mount",
        "umount2",
        "setns",
        "keyctl",
        "add_key",
        "bpf",
        "open_tree",
        "reboot",
        "kcmp",
    ] {
        assert!(
            rules_for(&spec, syscall).is_empty(),
            "{syscall} has a rule: {:?}",
            rules_for(&spec, syscall)
        );
    }
    for syscall in ["getpid", "read", "write", "execve", "chroot", "_llseek"] {
        assert!(
            allowed_unconditionally(&spec, syscall),
            "{syscall} is not allowed"
        );
    }
}

#[test]
fn default_caps_condition_clone_and_refuse_clone3_with_enosys() {
    let spec = convert(&docker_caps(), (6, 1));
    let clone = rules_for(&spec, "clone");
    assert_eq!(clone.len(), 1, "{clone:?}");
    let args = clone[0].args().as_deref().expect("clone is conditioned");
    assert_eq!(args.len(), 1);
    assert_eq!(args[0].index(), 0, "s390 ordering must not apply on amd64");
    assert_eq!(
        args[0].op(),
        oci_spec::runtime::LinuxSeccompOperator::ScmpCmpMaskedEq
    );
    assert_eq!(args[0].value(), 0x7E02_0000, "the namespace flags mask");

    let clone3 = rules_for(&spec, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3[0].errno_ret(), Some(38));
}

#[test]
fn cap_sys_admin_allows_mount_unshare_and_clone() {
    let spec = convert(&with(docker_caps(), "CAP_SYS_ADMIN"), (6, 1));
    for syscall in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "clone",
        "clone3",
        "open_tree",
        "sethostname",
    ] {
        assert!(
            allowed_unconditionally(&spec, syscall),
            "{syscall} is not allowed with CAP_SYS_ADMIN"
        );
    }
    assert_eq!(
        rules_for(&spec, "clone").len(),
        1,
        "the conditioned clone rule is excluded"
    );
    assert_eq!(
        rules_for(&spec, "clone3").len(),
        1,
        "the ENOSYS clone3 rule is excluded"
    );
    assert!(rules_for(&spec, "keyctl").is_empty(), "keyctl stays denied");
}

#[test]
fn capability_names_match_with_or_without_prefix_and_case() {
    let spec = convert(&with(docker_caps(), "sys_ptrace"), (6, 1));
    assert!(allowed_unconditionally(&spec, "kcmp"));
    let spec = convert(&with(docker_caps(), "CAP_SYS_BOOT"), (6, 1));
    assert!(allowed_unconditionally(&spec, "reboot"));
}

#[test]
fn architectures_come_from_the_arch_map() {
    let spec = convert(&docker_caps(), (6, 1));
    assert_eq!(
        spec.architectures().as_deref(),
        Some(
            &[
                OciArch::ScmpArchX86_64,
                OciArch::ScmpArchX86,
                OciArch::ScmpArchX32
            ][..]
        )
    );
    let arm = docker_profile_to_oci(
        docker_default_profile(),
        &docker_caps(),
        Arch::Aarch64,
        (6, 1),
    )
    .expect("converts");
    assert_eq!(
        arm.architectures().as_deref(),
        Some(&[OciArch::ScmpArchAarch64, OciArch::ScmpArchArm][..])
    );
    let riscv = docker_profile_to_oci(
        docker_default_profile(),
        &docker_caps(),
        Arch::Riscv64,
        (6, 1),
    )
    .expect("converts");
    assert_eq!(
        riscv.architectures().as_deref(),
        Some(&[OciArch::ScmpArchRiscv64][..])
    );
}

#[test]
fn arch_specific_rules_follow_the_host_arch() {
    let amd64 = convert(&docker_caps(), (6, 1));
    assert!(allowed_unconditionally(&amd64, "arch_prctl"));
    assert!(allowed_unconditionally(&amd64, "modify_ldt"));
    assert!(rules_for(&amd64, "set_tls").is_empty());
    assert!(rules_for(&amd64, "riscv_flush_icache").is_empty());

    let arm64 = docker_profile_to_oci(
        docker_default_profile(),
        &docker_caps(),
        Arch::Aarch64,
        (6, 1),
    )
    .expect("converts");
    assert!(allowed_unconditionally(&arm64, "set_tls"));
    assert!(rules_for(&arm64, "arch_prctl").is_empty());

    let s390x = docker_profile_to_oci(
        docker_default_profile(),
        &docker_caps(),
        Arch::S390x,
        (6, 1),
    )
    .expect("converts");
    let clone = rules_for(&s390x, "clone");
    assert_eq!(clone.len(), 1);
    assert_eq!(
        clone[0].args().as_deref().expect("conditioned")[0].index(),
        1,
        "s390 passes flags second"
    );
}

#[test]
fn min_kernel_is_respected() {
    // ptrace and process_vm_* are allowed from 4.8 on without CAP_SYS_PTRACE.
    let old = convert(&docker_caps(), (4, 4));
    assert!(rules_for(&old, "ptrace").is_empty());
    assert!(rules_for(&old, "process_vm_readv").is_empty());
    let boundary = convert(&docker_caps(), (4, 8));
    assert!(allowed_unconditionally(&boundary, "ptrace"));
    let new = convert(&docker_caps(), (6, 18));
    assert!(allowed_unconditionally(&new, "ptrace"));
    // With CAP_SYS_PTRACE an old kernel still gets ptrace.
    let old_ptrace = convert(&with(docker_caps(), "CAP_SYS_PTRACE"), (4, 4));
    assert!(allowed_unconditionally(&old_ptrace, "ptrace"));
}

#[test]
fn personality_keeps_one_rule_per_allowed_value() {
    let spec = convert(&docker_caps(), (6, 1));
    let values: Vec<u64> = rules_for(&spec, "personality")
        .iter()
        .map(|r| r.args().as_deref().expect("conditioned")[0].value())
        .collect();
    assert_eq!(values, [0, 8, 0x20000, 0x20008, 0xffff_ffff]);
}

const SMALL: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG"],
    "listenerPath": "/run/agent.sock",
    "listenerMetadata": "meta",
    "syscalls": [
        {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY", "excludes": {"minKernel": "5.0"}},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [{"index": 1, "value": 7, "valueTwo": 0, "op": "SCMP_CMP_GT"}]}
    ]
}"#;

#[test]
fn plain_architectures_flags_and_listener_pass_through() {
    let spec = docker_profile_to_oci(SMALL, &[], Arch::X86_64, (6, 1)).expect("converts");
    assert_eq!(spec.default_errno_ret(), Some(38));
    assert_eq!(
        spec.architectures().as_deref(),
        Some(&[OciArch::ScmpArchX86_64][..])
    );
    assert_eq!(
        spec.flags().as_deref(),
        Some(&[LinuxSeccompFilterFlag::SeccompFilterFlagLog][..])
    );
    assert_eq!(
        spec.listener_path().as_deref(),
        Some(std::path::Path::new("/run/agent.sock"))
    );
    assert_eq!(spec.listener_metadata().as_deref(), Some("meta"));
    assert_eq!(
        rules_for(&spec, "getpid").len(),
        1,
        "singular name becomes names"
    );
    assert!(
        rules_for(&spec, "mkdir").is_empty(),
        "excludes.minKernel 5.0 drops it on 6.1"
    );
    let rmdir = rules_for(&spec, "rmdir");
    assert_eq!(rmdir[0].errno_ret(), Some(13));
    assert_eq!(rmdir[0].args().as_deref().expect("args")[0].index(), 1);

    let old = docker_profile_to_oci(SMALL, &[], Arch::X86_64, (4, 19)).expect("converts");
    assert_eq!(
        rules_for(&old, "mkdir").len(),
        1,
        "kept below excludes.minKernel"
    );
}

#[test]
fn converted_spec_serializes_in_oci_form() {
    let spec = convert(&docker_caps(), (6, 1));
    let json = serde_json::to_value(&spec).expect("serializes");
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["architectures"][1], "SCMP_ARCH_X86");
    assert!(json["syscalls"][0]["names"]
        .as_array()
        .is_some_and(|n| n.len() > 300));
}

#[test]
fn malformed_profiles_are_errors() {
    let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#;
    assert!(matches!(
        docker_profile_to_oci(both, &[], Arch::X86_64, (6, 1)),
        Err(SeccompError::ProfileArchitecturesAndArchMap)
    ));
    let names = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#;
    assert!(matches!(
        docker_profile_to_oci(names, &[], Arch::X86_64, (6, 1)),
        Err(SeccompError::ProfileNameAndNames { index: 0 })
    ));
    let kernel = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","includes":{"minKernel":"five"}}]}"#;
    let err = docker_profile_to_oci(kernel, &[], Arch::X86_64, (6, 1)).expect_err("bad minKernel");
    assert_eq!(
        err.to_string(),
        "seccomp profile rule 0: invalid minKernel \"five\": expected major.minor"
    );
    let action = r#"{"defaultAction":"SCMP_ACT_MAYBE"}"#;
    assert!(matches!(
        docker_profile_to_oci(action, &[], Arch::X86_64, (6, 1)),
        Err(SeccompError::ParseProfile(_))
    ));
}

#[test]
fn kernel_releases_and_machines_parse() {
    assert_eq!(parse_kernel_release("6.18.44-fc-v657"), Some((6, 18)));
    assert_eq!(parse_kernel_release("4.8"), Some((4, 8)));
    assert_eq!(parse_kernel_release("5.10.0-28-amd64"), Some((5, 10)));
    assert_eq!(parse_kernel_release("garbage"), None);
    assert_eq!(Arch::from_uname_machine("x86_64"), Some(Arch::X86_64));
    assert_eq!(Arch::from_uname_machine("i686"), Some(Arch::X86));
    assert_eq!(Arch::from_uname_machine("armv7l"), Some(Arch::Arm));
    assert_eq!(Arch::from_uname_machine("aarch64"), Some(Arch::Aarch64));
    assert_eq!(Arch::from_uname_machine("sparc"), None);
    assert!(Arch::native().is_some());
}
