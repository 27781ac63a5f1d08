#!/usr/bin/env python3
"""Writes tally(1) and the text of every `--help` from the binary's own description of its commands.

Usage: manpage.py TALLY VERSION OUT_DIR

`TALLY --experimental-dump-help` (swift-argument-parser) gives every command with its abstract, discussion,
arguments and options; the man page is made from that, so it cannot drift from the binary. OUT_DIR gets
`tally.1` and `commands.txt` (each command's `--help`, in the order of the command tree).
"""
import json
import os
import subprocess
import sys


def roff(text):
    """Escapes text for a roff line: backslashes, hyphens, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def walk(command, path):
    """Every displayed command, depth first, with its path from `tally`."""
    if command.get("shouldDisplay", True) is False:
        return
    yield path, command
    for sub in command.get("subcommands", []):
        if sub["commandName"] == "help":
            continue
        yield from walk(sub, path + [sub["commandName"]])


def option_text(argument):
    names = argument.get("names", [])
    value = argument.get("valueName", "")
    if argument["kind"] == "positional":
        return "<" + value + ">"
    spelled = ", ".join(("-" if n["kind"] == "short" else "--") + n["name"] for n in names)
    return spelled + (" <" + value + ">" if argument["kind"] == "option" else "")


def man_page(root, version):
    out = [
        '.TH TALLY 1 "" "tally ' + roff(version) + '" "User Commands"',
        ".SH NAME",
        "tally \\- " + roff(root.get("abstract", "")),
        ".SH SYNOPSIS",
        ".B tally",
        ".I command",
        "[\\fIoptions\\fR]",
        ".SH DESCRIPTION",
        roff("One binary for the three roles of Tally: the vendor (root key, catalog, host keys), the activation "
             "host (install-key, activate, serve, settings, DNS publishing) and the client (slmgr-style verbs and "
             "the doctor). Every command below takes --help; /usr/share/doc/tally/commands.txt.gz holds the full "
             "help of each."),
        ".SH COMMANDS",
    ]
    for path, command in walk(root, ["tally"]):
        if len(path) == 1:
            continue
        out.append(".SS " + roff(" ".join(path)))
        if command.get("abstract"):
            out.append(roff(command["abstract"]))
        if command.get("discussion"):
            out.append(".PP")
            out.append(roff(command["discussion"]))
        for argument in command.get("arguments", []):
            if argument.get("shouldDisplay", True) is False or argument.get("preferredName", {}).get("name") == "help":
                continue
            out.append(".TP")
            out.append(".B " + roff(option_text(argument)))
            out.append(roff(argument.get("abstract", "") or "-"))
    out += [
        ".SH FILES",
        ".TP",
        ".B /var/lib/tally/host",
        roff("The host's state directory when it runs as the tally-host service (keys 0600, certificate, "
             "settings.json, the SQLite store host.sqlite, admin.json while it serves)."),
        ".TP",
        ".B /lib/systemd/system/tally-host.service",
        roff("The host as a systemd service, run as the system user tally; systemctl reload sends SIGHUP."),
        ".SH ENVIRONMENT",
        ".TP",
        ".B TALLY_VENDOR_DIR, TALLY_HOST_DIR, TALLY_CLIENT_DIR",
        roff("State directories of the three roles, instead of ~/.local/share/tally/ROLE (--state-dir wins)."),
        ".TP",
        ".B TALLY_DNS_SERVERS, TALLY_RESOLV_CONF",
        roff("Name servers ADDR[:PORT],... and the resolv.conf the client uses for discovery, instead of the "
             "stored settings (tally client set-dns-servers, set-resolv-conf) and /etc/resolv.conf."),
        ".SH SEE ALSO",
        roff("/usr/share/doc/tally/README.md.gz, /usr/share/doc/tally/DNS.md.gz, /usr/share/doc/tally/commands.txt.gz"),
    ]
    return "\n".join(out) + "\n"


def main():
    tally, version, out_dir = sys.argv[1:4]
    root = json.loads(subprocess.run([tally, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout)["command"]
    with open(os.path.join(out_dir, "tally.1"), "w", encoding="utf-8") as page:
        page.write(man_page(root, version))
    texts = []
    for path, _ in walk(root, ["tally"]):
        helped = subprocess.run([tally] + path[1:] + ["--help"], check=True, capture_output=True, text=True,
                                env=dict(os.environ, COLUMNS="100")).stdout
        texts.append("=" * 100 + "\n$ " + " ".join(path) + " --help\n\n" + helped.rstrip() + "\n")
    with open(os.path.join(out_dir, "commands.txt"), "w", encoding="utf-8") as help_file:
        help_file.write("\n".join(texts))


if __name__ == "__main__":
    main()
