"""The notification outbox (短信发件箱): reminders other apps write, sent in the background.

Other apps call :mod:`huzhu.notify.outbox` (``enqueue``, ``enqueue_many``,
``register_kind``); :mod:`huzhu.notify.sending` hands due messages to the configured
gateway (:mod:`huzhu.notify.gateways`).
"""
