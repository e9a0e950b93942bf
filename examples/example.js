#!/usr/bin/gjs
// example.js: configure smarthosts on Postfix with libsmarthost from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs example.js [POSTFIX-CONFIG-DIR]
//
// Sets a server-wide smarthost and one for the sender domain example.com in
// one transaction, prints the dry-run diff, commits, and reads the result
// back through a fresh backend. Without an argument it works on a new
// temporary copy of Postfix's stock configuration, never on /etc/postfix.
// Everything that touches the disk runs async: the main loop never blocks.

imports.gi.versions.Smarthost = '1.0';
const {GLib, Gio, Smarthost} = imports.gi;
const System = imports.system;

// Make the *_async methods return promises.
Gio._promisify(Smarthost.Backend.prototype, 'get_server_async', 'get_server_finish');
Gio._promisify(Smarthost.Backend.prototype, 'get_domain_async', 'get_domain_finish');
Gio._promisify(Smarthost.Transaction.prototype, 'preview_async', 'preview_finish');
Gio._promisify(Smarthost.Transaction.prototype, 'commit_async', 'commit_finish');
Gio._promisify(Gio.File.prototype, 'copy_async', 'copy_finish');
Gio._promisify(Gio.File.prototype, 'replace_contents_async', 'replace_contents_finish');
Gio._promisify(Gio.Subprocess.prototype, 'wait_async', 'wait_finish');

const API_KEY = 'Fake-Example-Key-c0ffee';  // a fixed fake key; never printed

async function makeConfigDir() {
    const dir = GLib.dir_make_tmp('smarthost-example-XXXXXX');
    await Gio.File.new_for_path('/usr/share/postfix/master.cf.dist').copy_async(
        Gio.File.new_for_path(`${dir}/master.cf`), Gio.FileCopyFlags.NONE,
        GLib.PRIORITY_DEFAULT, null, null);
    await Gio.File.new_for_path(`${dir}/main.cf`).replace_contents_async(
        new TextEncoder().encode('compatibility_level = 3.6\nmyhostname = mail.example.org\n'),
        null, false, Gio.FileCreateFlags.NONE, null);
    // Postfix ignores a main.cf changed in the last two seconds.
    const touch = Gio.Subprocess.new(['touch', '-d', '10 seconds ago',
        `${dir}/main.cf`, `${dir}/master.cf`], Gio.SubprocessFlags.NONE);
    await touch.wait_async(null);
    return dir;
}

async function configure(dir) {
    const backend = Smarthost.PostfixBackend.new(dir);

    // Relays are plain records, checked when they are staged.
    const server = new Smarthost.Relay({
        host: 'smtp.sendgrid.net', security: Smarthost.Security.STARTTLS,
        username: 'apikey', password: API_KEY,
    });
    const domain = new Smarthost.Relay({
        host: 'smtp.eu.mailgun.org', security: Smarthost.Security.TLS,  // port 465
        username: 'postmaster@example.com', password: API_KEY,
    });

    // Both changes in one transaction: all or nothing.
    const tx = backend.begin();
    tx.set_server(server);
    tx.set_domain('example.com', domain);

    // The dry run: a unified diff, secrets masked.
    print('Dry run:');
    print(await tx.preview_async(null));

    await tx.commit_async(null);
    print(`Committed (${tx.changed ? 'changed' : 'nothing to change'}).`);

    // Read back through a new backend object: what a later run would see.
    // to_string() shows "password set", never the password.
    const fresh = Smarthost.PostfixBackend.new(dir);
    const readServer = await fresh.get_server_async(null);
    const readDomain = await fresh.get_domain_async('example.com', null);
    print(`server: ${readServer?.to_string() ?? 'none'}`);
    print(`example.com: ${readDomain?.to_string() ?? 'none'}`);
}

async function main() {
    const temporary = ARGV.length < 1;
    const dir = temporary ? await makeConfigDir() : ARGV[0];
    try {
        await configure(dir);
        return 0;
    } catch (e) {
        if (!(e instanceof GLib.Error))
            throw e;
        // Smarthost errors say what to do; the code tells what went wrong.
        const what = e.matches(Smarthost.Error, Smarthost.Error.INVALID) ? 'invalid setting: ' : '';
        printerr(`example.js: ${what}${e.message}`);
        return 1;
    } finally {
        if (temporary)
            await Gio.Subprocess.new(['rm', '-rf', '--', dir], Gio.SubprocessFlags.NONE).wait_async(null);
    }
}

const loop = new GLib.MainLoop(null, false);
let status = 1;
main().then(s => {
    status = s;
}).catch(logError).finally(() => loop.quit());
loop.run();
System.exit(status);
