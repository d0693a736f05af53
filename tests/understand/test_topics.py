from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from server.understand.keywords import StickyLabel, label
from server.understand.topics import Topic, TopicModel
from tests.understand.fakes import HashingEmbedder

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TEXTS = [
    "invoice pdf is blank when downloading", "cannot download invoice pdf blank page",
    "password reset email never arrives", "reset password link expired email",
    "invoice pdf download shows blank", "password reset email not received",
    "export csv report times out", "csv export stuck and times out",
] * 3


def stream(model: TopicModel, texts, start: int = 0):
    vectors = HashingEmbedder().embed(texts)
    return [model.learn_one(v, ticket_id=str(start + i), text=t, terms=t.split(), at=T0 + timedelta(minutes=start + i))
            .topic_id for i, (v, t) in enumerate(zip(vectors, texts))]


def test_similar_tickets_share_a_topic_and_different_ones_do_not():
    model = TopicModel(assign_threshold=0.3, merge_threshold=0.9)
    ids = stream(model, TEXTS)
    by_text: dict[str, set[int]] = {}
    for text, tid in zip(TEXTS, ids):
        by_text.setdefault(text.split()[0], set()).add(model.resolve(tid))
    assert len(by_text["invoice"]) == 1 and len(by_text["password"]) == 1
    assert by_text["invoice"] != by_text["password"]


def test_predict_one_learns_nothing():
    model = TopicModel(assign_threshold=0.3)
    stream(model, TEXTS[:6])
    before = pickle.dumps(model)
    model.predict_one(HashingEmbedder().embed(["invoice pdf blank"])[0])
    assert pickle.dumps(model) == before


@pytest.mark.parametrize("cut", [1, 5, 11, 17])
def test_a_restored_checkpoint_continues_exactly_like_an_uninterrupted_model(cut):
    straight = TopicModel(assign_threshold=0.3, merge_every=4)
    ids_straight = stream(straight, TEXTS)
    first = TopicModel(assign_threshold=0.3, merge_every=4)
    ids = stream(first, TEXTS[:cut])
    restored = pickle.loads(pickle.dumps(first))
    ids += stream(restored, TEXTS[cut:], start=cut)
    assert ids == ids_straight
    assert {k: (t.size, t.merged_into, t.sticky) for k, t in restored.topics.items()} == \
        {k: (t.size, t.merged_into, t.sticky) for k, t in straight.topics.items()}
    assert [t.snapshot(restored.df)["label"] for t in restored.topics.values()] == \
        [t.snapshot(straight.df)["label"] for t in straight.topics.values()]


def test_converging_topics_merge_and_old_ids_resolve():
    e = np.eye(4, dtype=np.float32)
    model = TopicModel(assign_threshold=0.95, merge_threshold=0.6, merge_every=1, dim=4)
    a = model.learn_one(e[0], ticket_id="1", text="a", terms=["alpha"], at=T0).topic_id
    mixed = (e[0] + e[1]) / np.sqrt(2)
    assignment = model.learn_one(mixed, ticket_id="2", text="b", terms=["beta"], at=T0)
    assert assignment.created  # 0.707 < 0.95: a new topic (2) ...
    # ... but the average linkage of {e0} and {mixed} is 0.707 >= 0.6, so the pass right after merges them.
    assert sorted(model.topics) == [1, 2] and model.topics[2].merged_into == 1
    assert assignment.topic_id == 1  # the answer is already resolved
    b = 2
    survivor = model.resolve(a)
    assert model.resolve(b) == survivor and model.topics[survivor].size == 2
    assert set(model.changed()) == {a, b}
    assert model.topics[survivor].snapshot(model.df)["size"] == 2


def test_topic_ids_are_stable_when_replayed():
    assert stream(TopicModel(assign_threshold=0.3), TEXTS) == stream(TopicModel(assign_threshold=0.3), TEXTS)


def test_labels_name_the_distinctive_words():
    model = TopicModel(assign_threshold=0.3)
    ids = stream(model, TEXTS)
    invoice = model.resolve(ids[0])
    snap = model.topics[invoice].snapshot(model.df)
    assert "invoice" in snap["label"] or "pdf" in snap["label"]
    assert snap["summary"].startswith("About ") and snap["representatives"]


def test_memory_is_bounded_by_retiring_small_stale_topics():
    rng = np.random.default_rng(0)
    model = TopicModel(assign_threshold=0.99, max_active=20, dim=16)
    for i in range(200):
        v = rng.normal(size=16).astype(np.float32)
        model.learn_one(v / np.linalg.norm(v), ticket_id=str(i), text="", terms=[], at=T0 + timedelta(seconds=i))
    assert len(model._row_of) <= 20
    assert len(model.topics) == 200  # retired topics keep their ids



def test_a_ticket_names_the_topics_it_was_nearly_as_close_to():
    m = TopicModel(assign_threshold=0.6, merge_threshold=0.99, dim=4)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    a, b, c, d = np.eye(4, dtype=np.float32)
    for i, v in enumerate([a, b, d]):
        m.learn_one(v, ticket_id=f"seed{i}", text="", terms=[], at=at)
    # 0.78 to topic 1 (joins it), 0.62 to topic 2 (within the margin), 0 to topic 3
    v = np.array([0.75, 0.6, 0.0, 0.0], dtype=np.float32)
    got = m.learn_one(v / np.linalg.norm(v), ticket_id="x", text="", terms=[], at=at)
    assert got.topic_id == 1 and got.neighbours == (2,)
    far = m.learn_one(c, ticket_id="y", text="", terms=[], at=at)  # a new topic, near nothing
    assert far.created and far.neighbours == ()


def one_topic(**params) -> tuple[TopicModel, list]:
    """A model where every ticket joins topic 1, and a function feeding it a ticket's terms."""
    model = TopicModel(dim=2, **params)
    v = np.array([1.0, 0.0], dtype=np.float32)
    n = [0]

    def ticket(terms: list[str]) -> str:
        n[0] += 1
        assert model.learn_one(v, ticket_id=str(n[0]), text="", terms=terms, at=T0).topic_id == 1
        return model.topics[1].snapshot(model.df)["label"]

    return model, ticket


def test_the_label_people_see_ignores_reorderings_of_the_live_ranking():
    model, ticket = one_topic()
    other = TopicModel(dim=2)  # a second tenant's model, so that the words are distinctive
    for i in range(20):
        model.df.add(["password", "reset"])
        other.df.add(["password", "reset"])
    shown, live = set(), set()
    for extra in ["invoice", "pdf", "download"] * 8:
        shown.add(ticket(["invoice", "pdf", "download", extra, extra]))
        live.add(" · ".join(label(model.topics[1].terms, model.df)))
    assert len(live) >= 3 and len(shown) == 1
    snap = model.topics[1].snapshot(model.df)
    assert snap["keywords"][:3] == snap["label"].split(" · ")
    assert snap["summary"].startswith(f"About {', '.join(snap['keywords'][:3])}.")


def test_a_new_dominant_theme_renames_the_topic_after_it_holds():
    model, ticket = one_topic(label_hold=4)
    for _ in range(30):
        model.df.add(["billing", "address"])
    first = ticket(["saml", "assertion", "invalid"])
    assert all(ticket(["saml", "assertion", "invalid"]) == first for _ in range(19))
    labels = [ticket(["okta", "redirect", "loop"]) for _ in range(19)]
    changed_at = next(i for i, text in enumerate(labels) if text != first)
    assert changed_at >= 3 and set(labels[changed_at].split(" · ")) == {"okta", "redirect", "loop"}
    assert set(labels[changed_at:]) == {labels[changed_at]}


def test_a_merge_keeps_the_larger_topics_label():
    e = np.eye(4, dtype=np.float32)
    model = TopicModel(assign_threshold=0.95, merge_threshold=0.6, merge_every=1, dim=4)
    for i in range(3):
        model.learn_one(e[0], ticket_id=f"a{i}", text="", terms=["invoice", "pdf", "blank"], at=T0)
    before = model.topics[1].snapshot(model.df)["label"]
    mixed = (e[0] + e[1]) / np.sqrt(2)
    assignment = model.learn_one(mixed, ticket_id="b", text="", terms=["password", "reset", "email"], at=T0)
    assert assignment.created and model.topics[2].merged_into == 1
    assert model.topics[1].snapshot(model.df)["label"] == before
    assert set(model.topics[2].snapshot(model.df)["label"].split(" · ")) == {"password", "reset", "email"}


def test_a_checkpoint_written_before_labels_were_kept_loads_and_keeps_the_label_it_showed():
    model = TopicModel(assign_threshold=0.3)
    stream(model, TEXTS)
    for name in ("label_margin", "label_growth", "label_hold"):  # as such a checkpoint has it
        del model.__dict__[name]
    for topic in model.topics.values():
        del topic.__dict__["sticky"]
    shown_then = {k: " · ".join(label(t.terms, model.df, n=3)) for k, t in model.topics.items()}
    old = pickle.dumps(model)
    assert b"sticky" not in old and b"label_hold" not in old

    loaded = pickle.loads(old)
    assert (loaded.label_margin, loaded.label_growth, loaded.label_hold) == (1.5, 2.0, 5)
    assert {k: t.snapshot(loaded.df)["label"] for k, t in loaded.topics.items()} == shown_then
    assert all(isinstance(t.sticky, StickyLabel) for t in loaded.topics.values())
    stream(loaded, TEXTS[:6], start=len(TEXTS))  # and it goes on learning
    again = pickle.loads(pickle.dumps(loaded))
    assert {k: t.sticky for k, t in again.topics.items()} == {k: t.sticky for k, t in loaded.topics.items()}


def test_a_topic_without_a_label_yet_shows_its_live_ranking():
    model, ticket = one_topic()
    ticket(["invoice", "pdf"])
    bare = Topic(9, T0, T0, size=1, terms=model.topics[1].terms)
    assert bare.snapshot(model.df)["label"] == " · ".join(label(bare.terms, model.df))
    assert Topic(10, T0, T0).snapshot(model.df)["label"] == "topic 10"
