"""The web pages of the OAuth install flow: install, success, failure."""

from __future__ import annotations

import html

STYLE = """
body{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,sans-serif;margin:0;
background:#f4f1ee;color:#1d1c1d}
main{max-width:640px;margin:8vh auto;background:#fff;border-radius:12px;padding:40px 48px;
box-shadow:0 4px 24px rgba(0,0,0,.08)}
h1{font-size:28px;margin:0 0 8px}p{line-height:1.55;font-size:16px}
ul{line-height:1.7}.muted{color:#616061;font-size:14px}
a.btn{display:inline-block;margin-top:16px}
code{background:#f3f3f3;padding:2px 6px;border-radius:4px}
"""


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def install_page(authorize_url: str) -> str:
    url = html.escape(authorize_url, quote=True)
    return _page(
        "Add palbot to Slack",
        f"""
<h1>palbot</h1>
<p>Create, tune and talk to Tavus <strong>PALs</strong> (AI video agents) without leaving Slack.</p>
<ul>
<li><code>/pal create</code> builds a PAL in a form; <code>/pal patch</code> tunes it.</li>
<li><code>/pal start</code> opens a video conversation and posts its Join link in the channel.</li>
<li>Each workspace keeps its own PAL API key, encrypted; every action is audited.</li>
</ul>
<a class=btn href="{url}"><img alt="Add to Slack" height=40 width=139
src="https://platform.slack-edge.com/img/add_to_slack.png"
srcset="https://platform.slack-edge.com/img/add_to_slack.png 1x,
https://platform.slack-edge.com/img/add_to_slack@2x.png 2x"></a>
<p class=muted>After installing, a workspace admin connects the PAL API key with
<code>/pal key</code>. This link is valid for 10 minutes.</p>""",
    )


def success_page(team_name: str | None, app_url: str | None) -> str:
    where = html.escape(team_name or "your workspace")
    link = f'<p><a href="{html.escape(app_url, quote=True)}">Open Slack</a></p>' if app_url else ""
    return _page(
        "palbot is installed",
        f"""
<h1>palbot is installed in {where}</h1>
<p>Next steps, in Slack:</p>
<ol><li>A workspace admin runs <code>/pal key</code> and pastes the workspace's PAL API key.</li>
<li>Anyone runs <code>/pal create interviewer</code>, then <code>/pal start</code>.</li></ol>
<p class=muted><code>/pal help</code> lists every command.</p>{link}""",
    )


def failure_page(reason: str) -> str:
    explanations = {
        "invalid_browser": "The install started in another browser or the page was reloaded.",
        "invalid_state": "The install link expired or was already used (links last 10 minutes).",
        "missing_code": "Slack did not send an authorization code.",
        "access_denied": "The install was cancelled in Slack.",
        "storage_error": "palbot could not save the installation.",
    }
    why = explanations.get(reason, "Slack reported an error during the install.")
    return _page(
        "palbot was not installed",
        f"""
<h1>palbot was not installed</h1>
<p>{html.escape(why)} <span class=muted>({html.escape(reason)})</span></p>
<p><a href="/slack/install">Start the install again</a>. If it keeps failing, ask the person
who runs palbot to check its logs.</p>""",
    )
