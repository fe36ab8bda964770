"""devtools.stack's processes run another checkout's code when given its root (none started)."""

from devtools.stack import ROOT, Gunicorn


def test_a_web_server_runs_in_its_checkout_with_its_gunicorn_config_if_it_has_one(tmp_path):
    ours = Gunicorn("ours", workers=1, env={}, logdir=tmp_path)
    assert ours.root == ROOT
    assert ours.argv[ours.argv.index("--config") + 1] == "config/gunicorn.py"

    (tmp_path / "config").mkdir()
    old = Gunicorn("old", workers=1, env={}, logdir=tmp_path, root=tmp_path)
    assert old.root == tmp_path
    assert "--config" not in old.argv  # a checkout from before config/gunicorn.py: sync workers

    (tmp_path / "config" / "gunicorn.py").write_text('worker_class = "gthread"\n')
    newer = Gunicorn("newer", workers=1, env={}, logdir=tmp_path, root=tmp_path)
    assert "--config" in newer.argv
