"""Medical-insurance settlement feeds (医保结算数据) for proactive payouts (免申即享).

The app's top level is the settlement import. A feed is one file (or API push) from the
medical insurance bureau with one row per settled hospital stay: :mod:`.reading` opens
it, :mod:`.rows` validates each row, :mod:`.importing` (with :mod:`.staging`'s set-based
statements) stores each stay once (sealed ID number, blind index) and matches it to
members; :mod:`.jobs` runs uploads in the background, :mod:`.api` takes the bureau's
pushes (with :mod:`.tokens`), :mod:`.views` and :mod:`.cli` show them, and
:mod:`.access` says which feed, token or run a user may open.

:mod:`.proactive` is the batch that evaluates a feed's stays through the engine and
proposes claims; :mod:`.models` holds both sides' records.
"""
