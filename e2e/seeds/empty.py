"""A tenant and nothing else."""


def seed(ctx):  # noqa: ANN001, ANN201
    return {}
