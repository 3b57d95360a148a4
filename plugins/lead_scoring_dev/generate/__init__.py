"""Synthetic CRM + marketing-automation data (``leadscore generate``).

The implementation lives in :mod:`lead_scoring_dev.generate.synthetic`; the word lists and
distributions in :mod:`lead_scoring_dev.generate.vocab`; the command line in
:mod:`lead_scoring_dev.generate.cli`.
"""

from lead_scoring_dev.generate.cli import add_subparser
from lead_scoring_dev.generate.synthetic import generate

__all__ = ["add_subparser", "generate"]
