#!/usr/bin/gjs
// smartermail.js: read a SmarterMail server's smarthosts with libsmarthost
// from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs smartermail.js URL ADMIN ADMIN-PASSWORD-FILE [CA-FILE [STATE-DIR]]
//
// Constructs the SmarterMail backend by name and prints the server-wide
// smarthost (SmarterMail's round-robin outbound gateway) and each domain's
// (a specific-domains gateway selected in the domain's settings). It only
// reads, and async: every request to the server runs off the main loop.
// Exits 77 when the library was built without the SmarterMail backend.

imports.gi.versions.Smarthost = '1.0';
const {GLib, Gio, Smarthost} = imports.gi;
const System = imports.system;

Gio._promisify(Smarthost.Backend.prototype, 'get_server_async', 'get_server_finish');
Gio._promisify(Smarthost.Backend.prototype, 'get_domain_async', 'get_domain_finish');
Gio._promisify(Smarthost.Backend.prototype, 'list_domains_async', 'list_domains_finish');
Gio._promisify(Gio.File.prototype, 'load_contents_async', 'load_contents_finish');

async function readPassword(path) {
    // The administrator's password comes from a file, never the command line.
    const [bytes] = await Gio.File.new_for_path(path).load_contents_async(null);
    return new TextDecoder().decode(bytes).split('\n')[0];
}

async function main() {
    if (ARGV.length < 3) {
        printerr('usage: gjs smartermail.js URL ADMIN ADMIN-PASSWORD-FILE [CA-FILE [STATE-DIR]]');
        return 2;
    }
    const settings = {
        'url': ARGV[0],
        'admin': ARGV[1],
        'admin-password': await readPassword(ARGV[2]),
    };
    if (ARGV.length > 3)
        settings['ca-file'] = ARGV[3];
    if (ARGV.length > 4)
        settings['state-directory'] = ARGV[4];

    let backend;
    try {
        // Settings as text, converted by each setting's type.
        backend = Smarthost.Backend.new_for_name_with_settings('smartermail', settings);
    } catch (e) {
        if (e instanceof GLib.Error && e.matches(Smarthost.Error, Smarthost.Error.NOT_SUPPORTED)) {
            print(`smartermail.js: skipped: ${e.message}`);
            return 77;
        }
        throw e;
    }

    try {
        // to_string() shows "password set", never the password.
        const server = await backend.get_server_async(null);
        print(`server: ${server?.to_string() ?? 'none'}`);
        for (const domain of await backend.list_domains_async(null)) {
            const relay = await backend.get_domain_async(domain, null);
            print(`${domain}: ${relay?.to_string() ?? 'none'}`);
        }
        return 0;
    } catch (e) {
        if (!(e instanceof GLib.Error))
            throw e;
        // Errors name what failed (a request, a login) and never a secret.
        printerr(`smartermail.js: ${e.message}`);
        return 1;
    }
}

const loop = new GLib.MainLoop(null, false);
let status = 1;
main().then(s => {
    status = s;
}).catch(logError).finally(() => loop.quit());
loop.run();
System.exit(status);
