"""The ServerApp's grid wrapper pulls replies at its own interval, with `Grid.send_and_receive`'s semantics:
every reply once, stop when all are in, give up at the timeout."""

from __future__ import annotations

from types import SimpleNamespace

from federation.probe import RecordingGrid


class FakeGrid:
    """Replies to message i arrive at pull number `arrives[i]` (never, where None)."""

    def __init__(self, arrives: list[int | None]) -> None:
        self.arrives, self.pulls, self.pushed = arrives, 0, []

    def push_messages(self, messages):
        self.pushed = list(messages)
        return [f"m{i}" for i in range(len(self.pushed))]

    def pull_messages(self, message_ids):
        self.pulls += 1
        wanted = set(message_ids)
        return [SimpleNamespace(metadata=SimpleNamespace(reply_to_message_id=f"m{i}", message_type="train"),
                                has_error=lambda: False)
                for i, at in enumerate(self.arrives) if at == self.pulls and f"m{i}" in wanted]


def test_pulls_until_every_reply_is_in_and_keeps_each_once():
    inner = FakeGrid([1, 3, 3, 2])
    seen = []
    grid = RecordingGrid(inner, on_exchange=lambda kind, ok, err: seen.append((kind, ok, err)), poll_interval=0.0)
    replies = grid.send_and_receive(["a", "b", "c", "d"], timeout=None)
    assert sorted(r.metadata.reply_to_message_id for r in replies) == ["m0", "m1", "m2", "m3"]
    assert inner.pulls == 3 and inner.pushed == ["a", "b", "c", "d"]
    assert seen == [("train", 4, 0)]


def test_gives_up_at_the_timeout_with_the_replies_it_has():
    inner = FakeGrid([1, None])
    grid = RecordingGrid(inner, poll_interval=0.01)
    replies = grid.send_and_receive(["a", "b"], timeout=0.2)
    assert [r.metadata.reply_to_message_id for r in replies] == ["m0"]
    assert inner.pulls >= 2  # it kept asking for the missing reply until the deadline
