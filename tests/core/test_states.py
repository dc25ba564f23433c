"""The item state machine: every legal move succeeds, every other one raises."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import ACTIVE_STATES, DownloadProtocol, ItemState, QueueItem, SourceKind
from core.errors import IllegalTransition
from core.states import (
    GRABBABLE,
    PAUSABLE,
    RETRYABLE,
    TRANSITIONS,
    can_transition,
    transition,
)
from tests.fakes import EPOCH

S = ItemState
LATER = EPOCH + timedelta(minutes=5)
ALL_PAIRS = [(source, target) for source in ItemState for target in ItemState]
LEGAL = [(s, t) for s, t in ALL_PAIRS if t in TRANSITIONS[s]]
ILLEGAL = [(s, t) for s, t in ALL_PAIRS if t not in TRANSITIONS[s]]


def item_in(state: ItemState, **fields: object) -> QueueItem:
    return QueueItem(
        id=7, title="Some.Movie", source=SourceKind.MAGNET, protocol=DownloadProtocol.TORRENT,
        state=state, added_at=EPOCH, updated_at=EPOCH, **fields,  # type: ignore[arg-type]
    )


def pair_id(pair: tuple[ItemState, ItemState]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_the_table_names_every_state_as_a_source_and_only_states_as_targets() -> None:
    assert set(TRANSITIONS) == set(ItemState)
    assert all(targets <= set(ItemState) for targets in TRANSITIONS.values())


def test_the_table_has_both_legal_and_illegal_pairs() -> None:
    # Guards the parametrised tests below against an empty or complete table.
    assert LEGAL
    assert ILLEGAL
    assert len(LEGAL) + len(ILLEGAL) == len(ItemState) ** 2


@pytest.mark.parametrize("pair", LEGAL, ids=pair_id)
def test_a_legal_transition_moves_the_item_and_touches_it(
    pair: tuple[ItemState, ItemState],
) -> None:
    source, target = pair
    item = item_in(source)

    moved = transition(item, target, LATER)

    assert can_transition(source, target)
    assert moved.state is target
    assert moved.updated_at == LATER
    assert moved.id == item.id
    assert item.state is source  # the original is untouched


@pytest.mark.parametrize("pair", ILLEGAL, ids=pair_id)
def test_an_illegal_transition_raises(pair: tuple[ItemState, ItemState]) -> None:
    source, target = pair

    assert not can_transition(source, target)
    with pytest.raises(IllegalTransition) as raised:
        transition(item_in(source), target, LATER)
    assert source.value in raised.value.message
    assert target.value in raised.value.message


@pytest.mark.parametrize("state", list(ItemState), ids=str)
def test_no_state_transitions_to_itself(state: ItemState) -> None:
    with pytest.raises(IllegalTransition):
        transition(item_in(state), state, LATER)


@pytest.mark.parametrize(
    "pair",
    [
        (S.QUEUED, S.SENDING),
        (S.SENDING, S.DOWNLOADING),
        (S.SENDING, S.RETRYING),
        (S.DOWNLOADING, S.PAUSED),
        (S.PAUSED, S.DOWNLOADING),
        (S.DOWNLOADING, S.COMPLETED),
        (S.DOWNLOADING, S.RETRYING),
        (S.RETRYING, S.QUEUED),
        (S.RETRYING, S.FAILED),
        (S.DOWNLOADING, S.WARNING),
        (S.WARNING, S.FAILED),
        (S.SENDING, S.CLIENT_UNAVAILABLE),
        (S.CLIENT_UNAVAILABLE, S.QUEUED),
    ],
    ids=pair_id,
)
def test_the_lifecycle_of_the_design_is_allowed(pair: tuple[ItemState, ItemState]) -> None:
    assert transition(item_in(pair[0]), pair[1], LATER).state is pair[1]


@pytest.mark.parametrize(
    "pair",
    [(S.QUEUED, S.DOWNLOADING), (S.QUEUED, S.COMPLETED), (S.SENDING, S.COMPLETED),
     (S.PAUSED, S.COMPLETED)],
    ids=pair_id,
)
def test_an_item_cannot_skip_the_client(pair: tuple[ItemState, ItemState]) -> None:
    with pytest.raises(IllegalTransition):
        transition(item_in(pair[0]), pair[1], LATER)


@pytest.mark.parametrize("target", list(ItemState), ids=str)
def test_completed_is_terminal(target: ItemState) -> None:
    assert TRANSITIONS[S.COMPLETED] == frozenset()
    with pytest.raises(IllegalTransition):
        transition(item_in(S.COMPLETED), target, LATER)


@pytest.mark.parametrize("target", [t for t in ItemState if t is not S.QUEUED], ids=str)
def test_failed_only_goes_back_to_queued(target: ItemState) -> None:
    assert transition(item_in(S.FAILED), S.QUEUED, LATER).state is S.QUEUED
    with pytest.raises(IllegalTransition):
        transition(item_in(S.FAILED), target, LATER)


@pytest.mark.parametrize("source", sorted(ACTIVE_STATES), ids=str)
def test_every_active_state_can_fail(source: ItemState) -> None:
    assert transition(item_in(source), S.FAILED, LATER).state is S.FAILED


def test_first_download_stamps_started_at() -> None:
    moved = transition(item_in(S.SENDING), S.DOWNLOADING, LATER)

    assert moved.started_at == LATER
    assert moved.completed_at is None


def test_resuming_a_download_keeps_the_first_started_at() -> None:
    paused = item_in(S.PAUSED, started_at=EPOCH)

    assert transition(paused, S.DOWNLOADING, LATER).started_at == EPOCH


@pytest.mark.parametrize("target", sorted(TRANSITIONS[S.QUEUED]), ids=str)
def test_leaving_queued_for_anything_but_downloading_stamps_no_start(target: ItemState) -> None:
    assert transition(item_in(S.QUEUED), target, LATER).started_at is None


@pytest.mark.parametrize("source", [S.DOWNLOADING, S.WARNING], ids=str)
def test_completion_stamps_completed_at(source: ItemState) -> None:
    moved = transition(item_in(source, started_at=EPOCH), S.COMPLETED, LATER)

    assert moved.completed_at == LATER
    assert moved.started_at == EPOCH


@pytest.mark.parametrize("target", [S.FAILED, S.PAUSED, S.RETRYING], ids=str)
def test_other_endings_stamp_no_completion(target: ItemState) -> None:
    assert transition(item_in(S.DOWNLOADING), target, LATER).completed_at is None


def test_extra_changes_are_applied_with_the_move() -> None:
    moved = transition(item_in(S.SENDING), S.DOWNLOADING, LATER,
                       download_client="qbit", download_id="abc", attempts=2)

    assert (moved.download_client, moved.download_id, moved.attempts) == ("qbit", "abc", 2)
    assert moved.state is S.DOWNLOADING


def test_pausable_pending_and_retryable_states_are_what_the_service_expects() -> None:
    assert {S.QUEUED, S.RETRYING, S.CLIENT_UNAVAILABLE} == GRABBABLE
    assert {S.FAILED, S.RETRYING} == RETRYABLE
    assert {S.QUEUED, S.RETRYING, S.CLIENT_UNAVAILABLE, S.DOWNLOADING, S.WARNING} == PAUSABLE


@pytest.mark.parametrize("state", sorted(PAUSABLE), ids=str)
def test_every_pausable_state_can_become_paused(state: ItemState) -> None:
    assert transition(item_in(state), S.PAUSED, LATER).state is S.PAUSED


@pytest.mark.parametrize("state", sorted(RETRYABLE), ids=str)
def test_every_retryable_state_can_be_queued_again(state: ItemState) -> None:
    assert transition(item_in(state), S.QUEUED, LATER).state is S.QUEUED


@pytest.mark.parametrize("state", sorted(GRABBABLE - {S.QUEUED}), ids=str)
def test_every_pending_state_but_queued_can_be_queued(state: ItemState) -> None:
    assert transition(item_in(state), S.QUEUED, LATER).state is S.QUEUED
