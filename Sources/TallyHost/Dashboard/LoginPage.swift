/// The login form of a token-protected admin interface: the token is posted once and answered with a session
/// cookie (HttpOnly, SameSite=Strict), never stored in the browser.
enum LoginPage {
    static func response(message: String?, status: Int) -> AdminResponse {
        var page = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tally host: log in</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">\(DashboardStyle.element)</head><body>
            <h1>Tally host</h1><p class="meta">This admin interface needs the token from the host's admin token file.</p>
            """
        if let message { page += "<ul class=\"warnings\"><li class=\"error\">\(HTML.escape(message))</li></ul>" }
        page += """
            <form class="login" method="post" action="/login"><label for="token">Admin token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
            <button type="submit">Log in</button></form></body></html>
            """
        return .html(page, status: status, styleHash: DashboardStyle.hash)
    }
}
