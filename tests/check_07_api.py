#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The emulation may use only what liburcu 0.7.16 offers.

Reads the implementation, leaves out the code that only 0.8+ builds see
(branches taken when URCU_COMPAT_NATIVE_BARRIER is true or when
rcu_read_ongoing / rcu_barrier are defined), and fails on any liburcu
identifier outside the 0.7 list below. Before that, it checks itself on
two snippets, one of which it must reject.
"""
import re
import sys

API_07 = set("""
call_rcu create_call_rcu_data call_rcu_data_free get_default_call_rcu_data
get_cpu_call_rcu_data get_thread_call_rcu_data get_call_rcu_data
get_call_rcu_thread set_thread_call_rcu_data set_cpu_call_rcu_data
create_all_cpu_call_rcu_data free_all_cpu_call_rcu_data call_rcu_before_fork
call_rcu_after_fork_parent call_rcu_after_fork_child
synchronize_rcu rcu_read_lock rcu_read_unlock rcu_register_thread
rcu_unregister_thread rcu_thread_offline rcu_thread_online rcu_quiescent_state
rcu_dereference rcu_assign_pointer rcu_xchg_pointer rcu_set_pointer
rcu_head call_rcu_data rcu_reader RCU_GP_CTR_NEST_MASK URCU_TLS
URCU_CALL_RCU_RT
uatomic_read uatomic_set uatomic_xchg uatomic_cmpxchg uatomic_add uatomic_sub
uatomic_inc uatomic_dec uatomic_add_return uatomic_or uatomic_and
cmm_smp_mb cmm_smp_rmb cmm_smp_wmb cmm_barrier CMM_LOAD_SHARED CMM_STORE_SHARED
caa_container_of caa_likely caa_unlikely CAA_BUILD_BUG_ON
CDS_LIST_HEAD cds_list_head cds_list_add cds_list_add_tail cds_list_del
cds_list_empty cds_list_for_each_entry cds_list_for_each_entry_safe
cds_wfq_queue cds_wfq_node cds_wfq_init cds_wfq_enqueue cds_wfq_dequeue_blocking
""".split())

LIBURCU_NAME = re.compile(
    r"\b(_?rcu_\w+|call_rcu\w*|synchronize_rcu\w*|\w*_call_rcu_data\w*|"
    r"get_call_rcu_\w+|cds_\w+|CDS_\w+|uatomic_\w+|cmm_\w+|_?CMM_\w+|caa_\w+|"
    r"CAA_\w+|urcu_\w+|URCU_\w+|RCU_\w+|\w+_URCU_TLS)\b")
NEWER_ONLY = re.compile(
    r"(?<!!)\bURCU_COMPAT_NATIVE_BARRIER\b|defined\s*\(?\s*rcu_read_ongoing|"
    r"defined\s*\(?\s*rcu_barrier|\bURCU_COMPAT_LIBURCU_HAS_BARRIER\b")
NOT_NEWER = re.compile(r"!\s*URCU_COMPAT_NATIVE_BARRIER\b")
OWN_DEF = re.compile(r"^(?:static|URCU_COMPAT_API)\b[^;=(]*?\b(\w+)\s*\(", re.M)


def strip(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"URCU_COMPAT_SYM\(\w+\)", "URCU_COMPAT_SYM_NAME", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def own_names(text):
    """The functions a file of the library defines."""
    return set(OWN_DEF.findall(strip(text)))


def violations(text, own=frozenset()):
    """own: what the other parts of the library define."""
    text = strip(text)
    own = set(own) | own_names(text)
    # Stack of [skip_this_branch, branch_kind] per open conditional.
    stack, found = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        d = re.match(r"\s*#\s*(\w+)(.*)", line)
        if d:
            kind, cond = d.group(1), d.group(2)
            if kind in ("if", "ifdef", "ifndef"):
                if NOT_NEWER.search(cond):
                    stack.append([False, "else-newer"])
                elif kind != "ifndef" and NEWER_ONLY.search(cond):
                    stack.append([True, "if-newer"])
                else:
                    stack.append([False, "plain"])
            elif kind == "elif" and stack:
                stack[-1][0] = False
                stack[-1][1] = "plain"
            elif kind == "else" and stack:
                top = stack[-1]
                top[0] = top[1] == "else-newer"
            elif kind == "endif" and stack:
                stack.pop()
            continue
        if any(s[0] for s in stack):
            continue
        for name in LIBURCU_NAME.findall(line):
            if name in API_07 or name in own:
                continue
            if name.startswith(("urcu_compat", "URCU_COMPAT")):
                continue
            found.append((lineno, name))
    return found


def self_test():
    good = ("#if defined(rcu_read_ongoing)\nx = rcu_read_ongoing();\n#else\n"
            "x = URCU_TLS(rcu_reader).ctr;\n#endif\ncall_rcu(h, f);\n")
    bad = "static void f(void)\n{\n\trcu_barrier();\n\tx = rcu_read_ongoing();\n}\n"
    assert not violations(good), violations(good)
    assert [n for _, n in violations(bad)] == ["rcu_barrier", "rcu_read_ongoing"], violations(bad)


def main(paths):
    self_test()
    bad = 0
    texts = {}
    for path in paths:
        with open(path) as f:
            texts[path] = f.read()
    own = set()
    for text in texts.values():
        own |= own_names(text)
    for path in paths:
        for lineno, name in violations(texts[path], own):
            print("%s:%d: %s is not in liburcu 0.7's API" % (path, lineno, name))
            bad += 1
    print("%d identifier(s) outside the 0.7 API" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
