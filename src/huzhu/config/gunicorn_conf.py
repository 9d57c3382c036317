"""Gunicorn's settings for ``huzhu serve`` (which passes bind, workers and threads).

Gunicorn rather than waitress: a pre-fork server uses every core (threads in one Python
process share one, and the member list, search and exports are CPU-bound), replaces a
worker process that hangs or leaks, and is the usual WSGI server on Linux. gthread
workers, so a slow client or a long request holds one thread, not a whole process; put
nginx (or another reverse proxy that buffers) in front for TLS and slow clients.
Operators may add options through ``GUNICORN_CMD_ARGS``.
"""

import os

worker_class = "gthread"
timeout = 60  # a worker whose main loop stops answering for this long is replaced
graceful_timeout = 20  # requests in flight get this long on stop or restart
keepalive = 5
max_requests = 5000  # recycle workers now and then against slow leaks
max_requests_jitter = 500
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # the heartbeat file: off the disk

accesslog = "-"
# The path without its query string, and no Referer: either can carry what a clerk
# searched for (a phone or an ID number), which has no place in a log file.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = "info"

# Gunicorn 25+ opens a control socket in ~/.gunicorn; huzhu serve is the one that
# controls this server (older gunicorn ignores the name).
control_socket_disable = True

# Addresses of the reverse proxy whose X-Forwarded-* headers gunicorn may believe.
forwarded_allow_ips = os.environ.get("HUZHU_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
