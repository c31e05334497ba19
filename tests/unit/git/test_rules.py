"""The git rules as data: pre-push input, the branch rule, and what `git push` answered."""

from __future__ import annotations

import pytest

from dockyard.git import rules

PATTERN = r"^(feat|fix|docs|chore)/[a-z0-9._-]+$"
A, B, Z = "a" * 40, "b" * 40, "0" * 40


def check(*lines: str) -> rules.PushCheck:
    return rules.check_updates(rules.parse_updates("\n".join(lines) + "\n"), "main", PATTERN)


def test_a_push_of_main_is_allowed_and_remembered() -> None:
    """Main needs no pattern; its commit is what the post-push monitor will wait for."""
    result = check(f"refs/heads/main {A} refs/heads/main {B}")
    assert result.refusals == []
    assert result.main_sha == A


def test_a_branch_outside_the_pattern_is_refused_with_the_pattern_and_an_example() -> None:
    """The refusal names the branch, the pattern and a name that would pass."""
    (refusal,) = check(f"refs/heads/My_Work {A} refs/heads/My_Work {Z}").refusals
    assert "'My_Work'" in refusal
    assert PATTERN in refusal
    assert "feat/my_work" in refusal


def test_the_destination_name_is_what_counts_even_from_a_detached_head() -> None:
    """`git push origin HEAD:feat/x` from a detached HEAD is judged by `feat/x`."""
    assert check(f"HEAD {A} refs/heads/feat/x {Z}").refusals == []
    assert check(f"HEAD {A} refs/heads/wip {Z}").refusals


def test_tags_and_deleted_branches_pass_but_deleting_main_does_not() -> None:
    """Tags have no naming rule; deleting a branch is not naming one; main stays."""
    assert check(f"refs/tags/v1 {A} refs/tags/v1 {Z}").refusals == []
    assert check(f"(delete) {Z} refs/heads/wip {A}").refusals == []
    assert check(f"(delete) {Z} refs/heads/main {A}").refusals == [
        "deleting the main branch 'main' is refused"
    ]


def test_every_bad_branch_of_one_push_is_listed() -> None:
    result = check(f"refs/heads/a {A} refs/heads/a {Z}", f"refs/heads/b {A} refs/heads/b {Z}")
    assert len(result.refusals) == 2


def test_a_malformed_line_is_an_error_and_empty_input_is_nothing() -> None:
    assert rules.parse_updates("") == []
    with pytest.raises(ValueError, match="line 1"):
        rules.parse_updates("refs/heads/main abc\n")


def test_the_behind_warning_counts_commits() -> None:
    assert rules.behind_warning("main", "origin/main", 0) is None
    warning = rules.behind_warning("main", "origin/main", 2)
    assert warning is not None
    assert "2 commits behind origin/main" in warning


def test_the_monitor_starts_only_when_the_tracking_ref_reaches_the_pushed_commit() -> None:
    moved = f"{B} {A} refs/remotes/origin/main\n"
    assert rules.main_moved(moved, "origin", "main", A)
    assert not rules.main_moved(moved, "origin", "main", B)
    assert not rules.main_moved(f"{B} {A} refs/heads/main\n", "origin", "main", A)
    assert not rules.main_moved(f"{B} {A} refs/remotes/fork/main\n", "origin", "main", A)


REF = "refs/heads/main"


@pytest.mark.parametrize(
    ("code", "stdout", "result"),
    [
        (0, f"To r\n \t{REF}:{REF}\t1a2b..3c4d\nDone\n", "pushed"),
        (0, f"To r\n=\t{REF}:{REF}\t[up to date]\nDone\n", "pushed"),
        (1, f"To r\n!\t{REF}:{REF}\t[rejected] (fetch first)\nDone\n", "behind"),
        (1, f"To r\n!\t{REF}:{REF}\t[rejected] (non-fast-forward)\nDone\n", "behind"),
        (1, f"To r\n!\t{REF}:{REF}\t[remote rejected] (pre-receive hook declined)\nDone\n",
         "refused"),
        (1, "", "refused"),  # the local pre-push hook said no: no ref line at all
    ],
)  # fmt: skip
def test_only_a_push_behind_the_remote_is_retried(code: int, stdout: str, result: str) -> None:
    assert rules.read_push(code, stdout, "error: failed to push some refs", REF).result == result


def test_losing_the_remote_ref_lock_to_a_simultaneous_push_is_retried() -> None:
    """Two pushes at the same instant: the loser's ref lock fails; it is behind, not refused."""
    answer = rules.read_push(
        1,
        f"To r\n!\t{REF}:{REF}\t[remote rejected] (failed to update ref)\nDone\n",
        "remote: error: cannot lock ref 'refs/heads/main': is at 09037 but expected 119c5\n",
        REF,
    )
    assert answer.result == "behind"


def test_a_refusal_keeps_gits_own_words() -> None:
    answer = rules.read_push(
        1,
        f"To r\n!\t{REF}:{REF}\t[remote rejected] (pre-receive hook declined)\nDone\n",
        "remote: main is protected\nerror: failed to push some refs to 'r'\n",
        REF,
    )
    assert "remote: main is protected" in answer.message
    assert answer.summary == "[remote rejected] (pre-receive hook declined)"
