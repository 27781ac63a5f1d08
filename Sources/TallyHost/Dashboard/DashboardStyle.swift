import Crypto
import Foundation

/// The one stylesheet of the admin pages, inline and allowed by its hash in the Content-Security-Policy
/// (`style-src 'sha256-…'`), so no `unsafe-inline` is needed and nothing loads from elsewhere.
public enum DashboardStyle {
    public static let css = """
        :root{color-scheme:light dark;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--muted:#6e7781;--line:#d0d7de}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1.5rem 2rem;max-width:72rem}
        h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:1.75rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
        .meta{color:var(--muted);margin:0 0 1rem}
        .classes{display:flex;gap:1rem;flex-wrap:wrap}
        .class{border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;min-width:14rem}
        .class .n{font-size:1.8rem;font-weight:600}.class .of{color:var(--muted)}
        .bar{height:8px;background:var(--line);border-radius:4px;overflow:hidden;margin-top:.4rem}
        .bar span{display:block;height:100%;background:var(--ok)}.bar span.low{background:var(--warn)}
        .w0{width:0}.w10{width:10%}.w20{width:20%}.w30{width:30%}.w40{width:40%}.w50{width:50%}.w60{width:60%}.w70{width:70%}.w80{width:80%}.w90{width:90%}.w100{width:100%}
        table{border-collapse:collapse;width:100%;font-size:13px}
        th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
        td.num,th.num{text-align:right}code{font-size:12px}
        .warnings{list-style:none;padding:0;margin:0}
        .warnings li{border-left:4px solid var(--warn);padding:.4rem .75rem;margin:.4rem 0;background:rgba(154,103,0,.08)}
        .warnings li.error{border-color:var(--bad);background:rgba(207,34,46,.08)}
        .warnings .remedy{color:var(--muted);display:block}
        .none{color:var(--muted)}
        .legend span{margin-right:1rem}.ok{color:var(--ok)}.low{color:var(--warn)}.bad{color:var(--bad)}
        form.login{max-width:24rem;margin-top:2rem}form.login input{width:100%;padding:.4rem;margin:.3rem 0 .8rem;box-sizing:border-box}
        form.logout{float:right}
        """

    /// `'sha256-…'` of ``css``, as the Content-Security-Policy names it.
    public static let hash = "sha256-" + Data(SHA256.hash(data: Data(css.utf8))).base64EncodedString()

    static var element: String { "<style>" + css + "</style>" }
}
