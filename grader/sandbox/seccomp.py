"""The seccomp filter of the local sandbox: a small deny-list compiled to a classic BPF program.

`deny_program()` returns the bytes bubblewrap loads with `--seccomp FD` just before it runs the runner.
Denied (EPERM): the kernel keyring (keyctl, add_key, request_key), tracing other processes (ptrace,
process_vm_*, kcmp, pidfd_getfd), new namespaces and mounts (unshare, setns, clone with a CLONE_NEW*
flag, mount and the new mount API, pivot_root, chroot), bpf, perf_event_open, userfaultfd, io_uring,
kernel modules and kexec, and the clock, swap, reboot and quota knobs. clone3 answers ENOSYS: its
flags sit behind a pointer a filter cannot read, and glibc then falls back to clone, which is checked.
A call of a foreign ABI (i386 or x32 on x86_64) kills the process. Everything else is allowed: the
runner is Python and numpy, and the jail, the uid and the limits around it do the rest.

Pure data and struct packing: it never loads a filter itself (bubblewrap does, in the runner only).
"""

from __future__ import annotations

import errno
import platform
import struct

# struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64), args[6] (u64 each).
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16
# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
X32_BIT = 0x40000000
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET, and CLONE_NEWTIME.
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 \
    | 0x40000000 | 0x00000080

DENIED = (
    "keyctl", "add_key", "request_key",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "acct", "quotactl", "quotactl_fd", "swapon", "swapoff", "reboot", "syslog", "vhangup",
    "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "fanotify_init", "lookup_dcookie",
)

# Syscall numbers, from the kernel's uapi headers (asm/unistd_64.h; asm-generic/unistd.h for arm64).
_COMMON_NEW = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
               "fspick": 433, "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442, "quotactl_fd": 443,
               "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}
SYSCALLS = {
    "x86_64": {**_COMMON_NEW,
               "keyctl": 250, "add_key": 248, "request_key": 249, "ptrace": 101, "process_vm_readv": 310,
               "process_vm_writev": 311, "kcmp": 312, "unshare": 272, "setns": 308, "mount": 165,
               "umount2": 166, "pivot_root": 155, "chroot": 161, "open_by_handle_at": 304,
               "name_to_handle_at": 303, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
               "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
               "kexec_file_load": 320, "acct": 163, "quotactl": 179, "swapon": 167, "swapoff": 168,
               "reboot": 169, "syslog": 103, "vhangup": 153, "settimeofday": 164, "clock_settime": 227,
               "adjtimex": 159, "clock_adjtime": 305, "fanotify_init": 300, "lookup_dcookie": 212,
               "clone": 56},
    "aarch64": {**_COMMON_NEW,
                "keyctl": 219, "add_key": 217, "request_key": 218, "ptrace": 117, "process_vm_readv": 270,
                "process_vm_writev": 271, "kcmp": 272, "unshare": 97, "setns": 268, "mount": 40,
                "umount2": 39, "pivot_root": 41, "chroot": 51, "open_by_handle_at": 265,
                "name_to_handle_at": 264, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
                "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
                "kexec_file_load": 294, "acct": 89, "quotactl": 60, "swapon": 224, "swapoff": 225,
                "reboot": 142, "syslog": 116, "vhangup": 58, "settimeofday": 170, "clock_settime": 112,
                "adjtimex": 171, "clock_adjtime": 266, "fanotify_init": 262, "lookup_dcookie": 18,
                "clone": 220},
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


class UnsupportedArchitecture(Exception):
    """No syscall table for this machine: the local sandbox cannot build its filter here."""


def machine() -> str:
    name = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)


def syscall_number(name: str, arch: str | None = None) -> int:
    arch = arch or machine()
    try:
        return SYSCALLS[arch][name]
    except KeyError:
        raise UnsupportedArchitecture(f"no syscall number for {name} on {arch} "
                                      f"(grader/sandbox/seccomp.py knows {', '.join(SYSCALLS)})") from None


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def deny_program(arch: str | None = None) -> bytes:
    """The filter for `arch` (this machine's by default) as bytes of struct sock_filter."""
    arch = arch or machine()
    if arch not in SYSCALLS:
        raise UnsupportedArchitecture(f"the local sandbox's seccomp filter has no syscall table for {arch} "
                                      f"(grader/sandbox/seccomp.py knows {', '.join(SYSCALLS)})")
    table, eperm = SYSCALLS[arch], RET_ERRNO | errno.EPERM
    program = [
        _insn(LD_W_ABS, OFFSET_ARCH),
        _insn(JEQ_K, AUDIT_ARCH[arch], jt=1),
        _insn(RET_K, RET_KILL_PROCESS),  # a foreign ABI (i386 int 0x80) would bypass the numbers below
        _insn(LD_W_ABS, OFFSET_NR),
    ]
    if arch == "x86_64":
        program += [_insn(JGE_K, X32_BIT, jf=1), _insn(RET_K, RET_KILL_PROCESS)]
    for name in DENIED:  # each: "if nr == N return EPERM", two instructions, no long jumps
        program += [_insn(JEQ_K, table[name], jf=1), _insn(RET_K, eperm)]
    program += [_insn(JEQ_K, table["clone3"], jf=1), _insn(RET_K, RET_ERRNO | errno.ENOSYS)]
    program += [
        _insn(JEQ_K, table["clone"], jf=3),
        _insn(LD_W_ABS, OFFSET_ARG0),  # the low half of clone's flags (little-endian)
        _insn(JSET_K, CLONE_NEW_FLAGS, jf=1),
        _insn(RET_K, eperm),
        _insn(RET_K, RET_ALLOW),
    ]
    return b"".join(program)
