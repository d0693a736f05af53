"""The label benchmark's plumbing: how it matches a label to an intent, and what one replay counts."""

from __future__ import annotations

import numpy as np

from bench.labels import MATURE, names_intent, first_names_intent, replay, words_match


def test_words_match_when_equal_or_one_starts_the_other_with_four_letters():
    assert words_match("card", "cards") and words_match("declined", "decline")
    assert not words_match("car", "card") and not words_match("cash", "card")


def test_a_label_names_an_intent_by_a_word_of_its_name_leaving_stop_words_out():
    assert names_intent("cards · arrive", "card_arrival")
    assert not names_intent("exchange rate", "lost_or_stolen_card")
    assert not names_intent("top", "top_up_failed")  # "top" is a stop word: no label carries it
    assert first_names_intent("pin · card", "change_pin") and not first_names_intent("card · pin", "change_pin")


def test_one_replay_counts_changes_for_both_rules_on_the_same_stream():
    rng = np.random.default_rng(0)
    centres = np.eye(384, dtype=np.float32)[:2]
    x, term_lists, y = [], [], []
    words = {0: ["invoice", "pdf", "download", "blank"], 1: ["password", "reset", "email", "link"]}
    for i in range(60):
        k = i % 2
        v = centres[k] + 0.01 * rng.normal(size=384).astype(np.float32)
        x.append(v / np.linalg.norm(v))
        term_lists.append(list(rng.permutation(words[k])[:3]))  # the same words, in shifting proportions
        y.append(["invoice_blank", "password_reset"][k])
    out = replay(np.array(x), term_lists, y, np.arange(60))
    before, after = out["before"], out["after"]
    assert before["topics"] == after["topics"] == 2 and MATURE <= 30
    assert before["reorder"] > 0 and after["reorder"] == 0.0 and after["changes"] < before["changes"]
    assert after["final_any"] == 100.0 and after["rule_ms"] > 0
    assert after["shared"] == before["shared"] == 0.0 and after["fragment"] == 0.0  # two topics, told apart
