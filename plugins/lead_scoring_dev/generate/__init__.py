"""Synthetic CRM + marketing-automation data (``leadscore generate``).

The implementation lives in :mod:`lead_scoring_dev.generate.synthetic`; the word lists and
distributions in :mod:`lead_scoring_dev.generate.vocab`; the command line in
:mod:`lead_scoring_dev.generate.cli`. A second world of another shape (``--profile education``)
is :mod:`lead_scoring_dev.generate.education` with :mod:`~lead_scoring_dev.generate.vocab_education`.
"""

from lead_scoring_dev.generate.cli import add_subparser
from lead_scoring_dev.generate.synthetic import generate

__all__ = ["add_subparser", "generate"]
