"""tropism: a mechanistic simulator of stem-cell tumour tropism.

>>> import tropism
>>> study = tropism.load("msc-gradient-cxcl12")      # doctest: +SKIP
>>> result = study.run()                              # doctest: +SKIP
>>> result.summary_table()                            # doctest: +SKIP
"""

__version__ = "0.1.0"

from tropism.api import Result, Study, load, read_run  # noqa: E402

__all__ = ["Result", "Study", "load", "read_run", "__version__"]
