"""The tests of the detection engine, one family per module (see :mod:`server.incidents.engine`).

- :mod:`~server.incidents.detectors.volume`: spike, new topic, neighbours, nearby tickets and halo;
- :mod:`~server.incidents.detectors.concentration`: one segment carries a topic's rise;
- :mod:`~server.incidents.detectors.drop`: a channel, a form or all tickets fall silent;
- :mod:`~server.incidents.detectors.sentiment`: a segment's tone falls.

Each is a part of :class:`~server.incidents.engine.Engine` (the engine's class is built from them), not
an object of its own: they read the one state the engine keeps and checkpoints, count their tests in
the engine's false-alarm budget (``_count_test``, ``alpha``) and raise alerts through its incident
lifecycle (``_alert``). Each test gives a tail probability and a direction; the budget turns it into an
alert or nothing.
"""
