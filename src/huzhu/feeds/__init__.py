"""Medical-insurance settlement feeds (医保结算数据) for proactive payouts (免申即享).

A feed is one file (or API push) from the medical insurance bureau with one row per
settled hospital stay. :mod:`.importing` validates it, stores each stay once (sealed ID
number, blind index) and matches it to members; the batch that evaluates the stays
through the engine builds on :class:`~huzhu.feeds.models.FeedRow`.
"""
