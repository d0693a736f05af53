"""The Zendesk app's marketplace package: an offline validator and the zip builder.

``validate_path(path)`` checks a package folder or zip against the marketplace's rules and returns a
:class:`Report`; ``build_package(src, out)`` validates the built app folder, writes the zip and
validates the zip. The ``groundswell app validate`` and ``groundswell app package`` commands and
``make package`` use these two.
"""

from server.marketplace.findings import Finding, Report
from server.marketplace.package import PackageError, build_package
from server.marketplace.validate import validate_package, validate_path

__all__ = ["Finding", "PackageError", "Report", "build_package", "validate_package", "validate_path"]
