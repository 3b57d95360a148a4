"""Synthetic CRM + marketing-automation data (``leadscore generate``).

The implementation lives in :mod:`lead_scoring_dev.generate.synthetic`; the word lists and
distributions in :mod:`lead_scoring_dev.generate.vocab`.
"""

from lead_scoring_dev.generate.synthetic import add_subparser, generate

__all__ = ["add_subparser", "generate"]
