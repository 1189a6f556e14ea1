"""Views: the monitor thread, the dashboard and card widgets, their typed message protocol, and
the terminal follower of `nbexp logs -f`. They talk to the service, never to the public face."""
