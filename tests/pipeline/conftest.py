"""Fixtures shared by the pipeline's tests."""
import pytest

from tests.pipeline.test_dead_letters import Faulty


@pytest.fixture
def faulty():
    """The stage that fails on one offset (see :class:`Faulty`), put back as it was after the test."""
    yield Faulty
    Faulty.at, Faulty.left, Faulty.error, Faulty.tried = -1, 0, RuntimeError, 0
