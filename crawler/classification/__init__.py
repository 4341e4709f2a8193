"""Classification: where a tender's work is (regions) and what it is (sectors).

* :mod:`crawler.classification.regions` and :mod:`crawler.classification.sectors`
  classify one item (pure: an item in, codes and evidence out), from facts in data
  files under ``config/``;
* :mod:`crawler.classification.tenders` classifies a stored tender from all of its
  notices and saves the result, where staff overrides take precedence;
* :mod:`crawler.classification.evaluation` measures both against a labelled set.
"""
