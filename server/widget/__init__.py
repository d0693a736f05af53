"""The in-app widget's server side: friction features, per-page friction detectors, the
ticket-within-24-hours classifier, nudge decisions, known issues and deflection measurement.

The detector stage (``WidgetStage``, server/widget/stage.py) folds widget events into session
features, learns per-page friction baselines and the classifier from outcomes, and writes one row per
live session; the HTTP side (views.py, service.py) answers the widget's decision and known-issue
requests from those rows and the tenant's configuration. See docs/friction.md.
"""

__all__ = ["WidgetStage"]


def __getattr__(name: str) -> object:
    if name == "WidgetStage":
        from server.widget.stage import WidgetStage

        return WidgetStage
    raise AttributeError(name)
