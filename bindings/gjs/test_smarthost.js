// test_smarthost.js: the Smarthost-1.0 API from GJS, printing TAP
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Runs against the uninstalled typelib (meson prepends GI_TYPELIB_PATH and
// LD_LIBRARY_PATH). Everything that touches the disk is called async, through
// Gio._promisify and await, from a running GLib.MainLoop: a GJS tool must
// never block its loop. Commits work on a temporary Postfix configuration
// directory and run the real postmap and postconf there.

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Smarthost = '1.0';
const {GLib, Gio, GObject, Smarthost} = imports.gi;
const System = imports.system;

// Every *_async method returns a promise when called without a callback.
for (const name of ['get_server', 'get_domain', 'list_domains', 'get_state', 'set_server', 'set_domain'])
    Gio._promisify(Smarthost.Backend.prototype, `${name}_async`, `${name}_finish`);
for (const name of ['preview', 'commit'])
    Gio._promisify(Smarthost.Transaction.prototype, `${name}_async`, `${name}_finish`);
Gio._promisify(Gio.Subprocess.prototype, 'communicate_utf8_async', 'communicate_utf8_finish');

const PASSWORD = 'Fake-Pa55w0rd-xyzzy-0001';
const OTHER_PASSWORD = 'Fake-0ther-Secret-xyzzy-0002';
const {Security, Capabilities: Caps} = Smarthost;

// --- helpers ------------------------------------------------------------

class AssertionError extends Error {}

function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new AssertionError(message);
}

function assertEqual(actual, expected, message = '') {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new AssertionError(`${message} expected ${e}, got ${a}`);
}

function assertNoSecret(text) {
    for (const secret of [PASSWORD, OTHER_PASSWORD])
        assert(!String(text).includes(secret), `a password was printed: ${text}`);
}

// Checks a GLib.Error of the Smarthost domain; field: what the message
// must start with.
function assertSmarthostError(error, code, field = null) {
    assert(error instanceof GLib.Error, `not a GLib.Error: ${error}`);
    assert(error.matches(Smarthost.Error, code), `${error} is not code ${code}`);
    if (field !== null)
        assert(error.message.startsWith(`${field}:`), `"${error.message}" does not name ${field}`);
    assertNoSecret(error.message);
}

async function assertRejects(promiseOrFunc, check) {
    try {
        await (typeof promiseOrFunc === 'function' ? promiseOrFunc() : promiseOrFunc);
    } catch (e) {
        if (e instanceof AssertionError)
            throw e;
        check(e);
        return;
    }
    throw new AssertionError('no error was raised');
}

function relay(props = {}) {
    return new Smarthost.Relay({
        host: 'smtp.example.net', port: 587, security: Security.STARTTLS,
        username: 'apikey', password: PASSWORD, ...props,
    });
}

// A Postfix configuration directory that Postfix reads at once.
function makeConfigDir() {
    const dir = GLib.dir_make_tmp('smarthost-gjs-XXXXXX');
    const master = Gio.File.new_for_path('/usr/share/postfix/master.cf.dist');
    master.copy(Gio.File.new_for_path(`${dir}/master.cf`), Gio.FileCopyFlags.NONE, null, null);
    GLib.file_set_contents(`${dir}/main.cf`,
        'compatibility_level = 3.6\nmyhostname = mail.example.org\n' +
        'mydestination = $myhostname, localhost\n');
    // Postfix refuses a main.cf modified in the last two seconds.
    const past = Math.floor(Date.now() / 1000) - 10;
    for (const name of ['main.cf', 'master.cf']) {
        const info = new Gio.FileInfo();
        info.set_attribute_uint64('time::modified', past);
        Gio.File.new_for_path(`${dir}/${name}`).set_attributes_from_info(info,
            Gio.FileQueryInfoFlags.NONE, null);
    }
    return dir;
}

async function removeTree(dir) {
    const proc = Gio.Subprocess.new(['rm', '-rf', '--', dir], Gio.SubprocessFlags.NONE);
    await proc.communicate_utf8_async(null, null);
}

function readFile(path) {
    return new TextDecoder().decode(GLib.file_get_contents(path)[1]);
}

// --- a backend written in JavaScript ----------------------------------------
// Only the sync vfuncs are implemented, and only sync calls are made on it:
// the interface's default async methods run the sync vfuncs in a worker
// thread, where GJS refuses to run JavaScript.

const ToyBackend = GObject.registerClass({
    Implements: [Smarthost.Backend],
}, class ToyBackend extends GObject.Object {
    vfunc_get_name() {
        return 'toy';
    }

    vfunc_get_capabilities() {
        return Caps.SERVER_RELAY | Caps.STARTTLS;
    }

    vfunc_get_server(_cancellable) {
        return null;
    }

    vfunc_get_domain(_domain, _cancellable) {
        return null;
    }

    vfunc_list_domains(_cancellable) {
        return [];
    }

    vfunc_preview(_transaction, _cancellable) {
        return '# nothing\n';
    }

    vfunc_commit(_transaction, _changed, _cancellable) {
        return true;
    }
});

// --- the tests ---------------------------------------------------------------

const tests = [];
function test(name, func) {
    tests.push({name, func});
}

test('relay properties, defaults and notify', () => {
    const r = new Smarthost.Relay({host: 'smtp.example.net'});
    assertEqual([r.port, r.get_effective_port(), r.security, r.mx_lookup, r.verify_certificate,
        r.ca_file, r.username, r.password, r.password_set],
    [0, 587, Security.STARTTLS, false, true, null, null, null, false]);
    const seen = [];
    r.connect('notify', (_obj, pspec) => seen.push(pspec.name));
    r.host = 'smtp.example.net';        // unchanged
    r.set_security(Security.TLS);
    r.username = 'apikey';
    r.set_password(PASSWORD);
    assertEqual(seen, ['security', 'username', 'password', 'password-set']);
    assertEqual(r.get_effective_port(), 465);
    assert(r.password_set && r.get_password_set());
    const r2 = Smarthost.Relay.new(null);
    r2.set_host('h.example');
    r2.set_port(2525);
    r2.set_mx_lookup(true);
    r2.set_verify_certificate(false);
    r2.set_ca_file(null);
    r2.set_username(null);
    assertEqual([r2.get_host(), r2.get_port(), r2.get_security(), r2.get_mx_lookup(),
        r2.get_verify_certificate(), r2.get_ca_file(), r2.get_username(), r2.get_password()],
    ['h.example', 2525, Security.STARTTLS, true, false, null, null, null]);
});

test('relay validate names the field', () => {
    assert(relay().validate());
    for (const [props, field] of [[{host: 'bad host'}, 'host'], [{port: 0}, 'port'],
        [{port: 70000}, 'port'], [{ca_file: 'ca.pem'}, 'ca-file'],
        [{password: null}, 'password'], [{username: ''}, 'username']]) {
        try {
            relay(props).validate();
            throw new AssertionError(`accepted ${JSON.stringify(props)}`);
        } catch (e) {
            if (e instanceof AssertionError)
                throw e;
            assertSmarthostError(e, Smarthost.Error.INVALID, field);
        }
    }
});

test('to_string never shows the password; copy and equal', () => {
    const r = relay();
    const text = r.to_string();
    assert(text.includes('smtp.example.net:587') && text.includes('password set'), text);
    assertNoSecret(text);
    assertNoSecret(`${r}`);
    const copy = r.copy();
    assert(copy.equal(r) && copy !== r);
    assertEqual(copy.get_password(), PASSWORD);
    copy.set_password(OTHER_PASSWORD);
    assert(!copy.equal(r));
});

test('functions, enums and errors', () => {
    assertEqual(Smarthost.security_to_string(Security.TLS), 'tls');
    assertEqual(Smarthost.Security.get_default_port(Security.TLS), 465);
    assertEqual(Smarthost.security_get_default_port(Security.NONE), 587);
    // GJS 1.74 ignores (skip) on the return value: [true, out].
    assertEqual(Smarthost.security_from_string('STARTTLS'), [true, Security.STARTTLS]);
    try {
        Smarthost.Security.from_string('ssl');
        throw new AssertionError('accepted ssl');
    } catch (e) {
        if (e instanceof AssertionError)
            throw e;
        assertSmarthostError(e, Smarthost.Error.INVALID, 'security');
    }
    assertEqual(Smarthost.domain_normalize('Bücher.Example.'), 'xn--bcher-kva.example');
    assertEqual(Smarthost.error_quark(), Smarthost.Error.quark());
    assertEqual(Smarthost.PASSWORD_MASK, '********');
    assertEqual(Smarthost.BACKEND_EXTENSION_POINT_NAME, 'smarthost-backend');
});

test('backends by name', () => {
    assert(Smarthost.Backend.list_names().includes('postfix'));
    const b = Smarthost.Backend.new_for_name('postfix');
    assert(b instanceof Smarthost.PostfixBackend);
    assertEqual(b.config_directory, '/etc/postfix');  // a property read only
    try {
        Smarthost.Backend.new_for_name('sendmail');
        throw new AssertionError('found sendmail');
    } catch (e) {
        if (e instanceof AssertionError)
            throw e;
        assertSmarthostError(e, Smarthost.Error.NOT_SUPPORTED, 'backend');
    }
});

test('bad input throws instead of crashing', () => {
    const b = Smarthost.PostfixBackend.new('/nonexistent');
    const tx = b.begin();
    for (const call of [() => tx.set_domain(null, relay()), () => tx.set_server('relay'),
        () => b.get_server('cancellable'), () => relay().equal(null),
        () => Smarthost.domain_normalize(null)]) {
        let threw = false;
        try {
            call();
        } catch (e) {
            threw = true;
        }
        assert(threw, `${call} did not throw`);
    }
    relay().set_host(null);    // nullable
});

test('empty configuration, read async', async () => {
    const dir = makeConfigDir();
    try {
        const b = Smarthost.PostfixBackend.new(dir);
        assertEqual(b.get_config_directory(), dir);
        assertEqual(b.get_name(), 'postfix');
        assert(b.get_capabilities() & Caps.DOMAIN_CREDENTIALS);
        assertEqual(await b.get_server_async(null), null);
        assertEqual(await b.get_domain_async('example.com', null), null);
        assertEqual(await b.list_domains_async(null), []);
        await assertRejects(b.get_domain_async('not a domain', null),
            e => assertSmarthostError(e, Smarthost.Error.INVALID, 'domain'));
        assert(b.validate_relay(relay()));
    } finally {
        await removeTree(dir);
    }
});

test('MailEnable on a .reg export: set, read back, refusals', async () => {
    const dir = GLib.dir_make_tmp('smarthost-gjs-me-XXXXXX');
    try {
        const text = 'Windows Registry Editor Version 5.00\r\n\r\n' +
            '[HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Mail Enable\\Mail Enable\\Connectors\\SMTP]\r\n' +
            '"Host Name"="mail.example.com"\r\n\r\n';
        const bytes = new Uint8Array(2 + text.length * 2);
        bytes.set([0xff, 0xfe]);
        for (let i = 0; i < text.length; i++)
            bytes.set([text.charCodeAt(i) & 0xff, text.charCodeAt(i) >> 8], 2 + 2 * i);
        GLib.file_set_contents(`${dir}/smtp.reg`, bytes);
        const b = Smarthost.MailEnableBackend.new_for_reg_file(`${dir}/smtp.reg`, `${dir}/smarthost.reg`);
        assertEqual(b.get_reg_file(), `${dir}/smtp.reg`);
        assert(!(b.get_capabilities() & Caps.DOMAIN_RELAY));
        assertEqual(await b.get_server_async(null), null);
        const tx = b.begin();
        await assertRejects(() => tx.set_domain('shop.example', relay({security: Security.NONE})),
            e => assertSmarthostError(e, Smarthost.Error.NOT_SUPPORTED));
        await assertRejects(() => tx.set_server(relay({security: Security.STARTTLS})),
            e => assertSmarthostError(e, Smarthost.Error.NOT_SUPPORTED));
        tx.set_server(relay({security: Security.NONE}));
        assertNoSecret(tx.preview(null));
        await tx.commit_async(null);
        const read = await b.get_server_async(null);
        assertEqual(read.get_password(), PASSWORD);
        assert(GLib.file_test(`${dir}/smarthost.undo.reg`, GLib.FileTest.EXISTS));
    } finally {
        await removeTree(dir);
    }
});

test('transaction: stage, preview, commit, read back through a fresh backend', async () => {
    const dir = makeConfigDir();
    try {
        const b = new Smarthost.PostfixBackend({config_directory: dir});
        const server = relay();
        const domain = relay({host: 'smtp.mailgun.org', username: 'postmaster@example.com',
            password: OTHER_PASSWORD});
        const tx = b.begin();
        assertEqual(tx.get_backend(), b);
        assert(tx.get_reload() && tx.reload);
        tx.set_reload(false);
        tx.set_server(server);
        tx.set_domain('Example.COM', domain);
        assertEqual(tx.get_n_changes(), 2);
        try {
            tx.set_server(relay({host: 'bad host'}));
            throw new AssertionError('staged a bad host');
        } catch (e) {
            if (e instanceof AssertionError)
                throw e;
            assertSmarthostError(e, Smarthost.Error.INVALID, 'host');
        }
        const mainBefore = readFile(`${dir}/main.cf`);
        const diff = await tx.preview_async(null);
        assert(diff.includes(`+++ ${dir}/main.cf`) && diff.includes(Smarthost.PASSWORD_MASK), diff);
        assertNoSecret(diff);
        assertEqual(readFile(`${dir}/main.cf`), mainBefore, 'preview changed main.cf');
        assert(await tx.commit_async(null));
        assert(tx.changed && tx.get_changed());

        const fresh = Smarthost.PostfixBackend.new(dir);
        assert((await fresh.get_server_async(null)).equal(server));
        assert((await fresh.get_domain_async('example.com', null)).equal(domain));
        assertEqual(await fresh.list_domains_async(null), ['example.com']);

        await assertRejects(tx.commit_async(null),
            e => assertSmarthostError(e, Smarthost.Error.FAILED));
    } finally {
        await removeTree(dir);
    }
});

test('set_server / set_domain async, and removal', async () => {
    const dir = makeConfigDir();
    try {
        const b = Smarthost.PostfixBackend.new(dir);
        assert(await b.set_server_async(relay({security: Security.TLS, port: 465}), null));
        assert(await b.set_domain_async('example.org', relay(), null));
        await assertRejects(b.set_domain_async('example.org', relay({port: 0}), null),
            e => assertSmarthostError(e, Smarthost.Error.INVALID, 'port'));
        const fresh = Smarthost.PostfixBackend.new(dir);
        assertEqual((await fresh.get_server_async(null)).get_effective_port(), 465);
        assert(await b.set_domain_async('example.org', null, null));
        assert(await b.set_server_async(null, null));
        assertEqual(await fresh.get_server_async(null), null);
        assertEqual(await fresh.list_domains_async(null), []);
    } finally {
        await removeTree(dir);
    }
});

test('a cancelled commit changes nothing', async () => {
    const dir = makeConfigDir();
    try {
        const b = Smarthost.PostfixBackend.new(dir);
        const before = readFile(`${dir}/main.cf`);
        const cancellable = new Gio.Cancellable();
        cancellable.cancel();
        const tx = b.begin();
        tx.set_server(relay());
        await assertRejects(tx.commit_async(cancellable),
            e => assert(e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED), `${e}`));
        assert(!tx.changed);
        assertEqual(readFile(`${dir}/main.cf`), before);
        assertEqual(await b.get_server_async(null), null);
    } finally {
        await removeTree(dir);
    }
});

test('a commit whose objects are dropped still completes', async () => {
    const dir = makeConfigDir();
    try {
        // Nothing but the promise refers to the backend or the transaction.
        const promise = (() => {
            const tx = Smarthost.PostfixBackend.new(dir).begin();
            tx.set_domain('example.com', relay());
            return tx.commit_async(null);
        })();
        System.gc();
        assert(await promise);
        assertEqual(await Smarthost.PostfixBackend.new(dir).list_domains_async(null), ['example.com']);
    } finally {
        await removeTree(dir);
    }
});

test('a complete state as JSON: read, applied, read back', async () => {
    const dir = makeConfigDir();
    try {
        const b = Smarthost.PostfixBackend.new(dir);
        assert(await b.set_domain_async('old.example', relay(), null));
        const state = Smarthost.State.new_from_json(JSON.stringify({
            server: null,
            domains: {'Shop.Example': {host: 'relay.example.net', security: 'tls'}},
        }), Smarthost.JsonFlags.NONE);
        assertEqual(state.list_domains(), ['shop.example']);
        const tx = b.begin();
        assert(tx.set_state(state));
        const preview = await tx.preview_async(null);
        assert(tx.get_would_change() && preview.includes('-@old.example'), preview);
        assert(await tx.commit_async(null));
        const now = await Smarthost.PostfixBackend.new(dir).get_state_async(null);
        assertEqual(JSON.parse(now.to_json()).domains['shop.example'].port, 465);
        assert(now.equal(state));
        // Strict: a string is not a boolean, and the error names the key.
        try {
            Smarthost.Relay.new_from_json('{"host": "a.example.net", "verify_certificate": "no"}', Smarthost.JsonFlags.NONE);
            throw new AssertionError('a string was taken for a boolean');
        } catch (e) {
            if (e instanceof AssertionError)
                throw e;
            assertSmarthostError(e, Smarthost.Error.INVALID, 'relay.verify_certificate');
        }
    } finally {
        await removeTree(dir);
    }
});

test('deeply nested JSON is refused, not a crash', () => {
    // json-glib parses by recursion: a million levels crashed the process.
    assertEqual(Smarthost.JSON_MAX_DEPTH, 32);
    for (const inner of ['['.repeat(1000000), '{"a":'.repeat(1000000)]) {
        for (const [ctor, text] of [[Smarthost.State.new_from_json, `{"server": null, "domains": ${inner}`],
            [Smarthost.Relay.new_from_json, `{"host": ${inner}`]]) {
            try {
                ctor(text, Smarthost.JsonFlags.NONE);
                throw new AssertionError('deep nesting was read');
            } catch (e) {
                if (e instanceof AssertionError)
                    throw e;
                assertSmarthostError(e, Smarthost.Error.INVALID);
                assert(e.message.includes('nested too deep') && e.message.includes('32 levels'), e.message);
            }
        }
    }
});

// Regression test: a property called "adopt" hid the method of that name.
test('adopt is a method; the adopting property reads it', async () => {
    const dir = makeConfigDir();
    try {
        const tx = Smarthost.PostfixBackend.new(dir).begin();
        assertEqual(typeof tx.adopt, 'function');
        assertEqual([tx.adopting, tx.get_adopt()], [false, false]);
        assert(tx.adopt());
        assertEqual([tx.adopting, tx.get_adopt()], [true, true]);
    } finally {
        await removeTree(dir);
    }
});

// Regression test: would-change was true before anything was staged.
test('would-change is false while nothing is staged', () => {
    const tx = new ToyBackend().begin();
    assertEqual([tx.would_change, tx.get_would_change()], [false, false]);
    assert(tx.set_server(relay()));
    assertEqual([tx.would_change, tx.get_would_change()], [true, true]);
});

// A loopback port nothing listens on: a check fails at once there.
function closedPort() {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.STREAM, Gio.SocketProtocol.TCP);
    socket.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0), false);
    const port = socket.get_local_address().get_port();
    socket.close();
    return port;
}

Gio._promisify(Smarthost.Probe.prototype, 'run_async', 'run_finish');

// Regression tests: ProbeResult, Provider and Policy had no properties, so
// result.success was undefined; an empty capabilities list was null.
test('probe results, providers and policies have properties', async () => {
    const probe = Smarthost.Probe.new(relay({
        host: '127.0.0.1', port: closedPort(), security: Security.NONE, username: null, password: null,
    }));
    probe.set_connect_timeout(5);
    const result = await probe.run_async(null);
    assertEqual(result.success, false);
    assertEqual(result.success, result.get_success());
    assertEqual(result.failed_stage, Smarthost.ProbeStage.CONNECT);
    assertEqual(result.failed_stage, result.get_failed_stage());
    assert(result.message && result.message === result.get_message(), result.message);
    assertEqual(result.hint, result.get_hint());
    assertEqual(result.greeting, null);
    assertEqual(result.get_capabilities(), []);
    assertEqual(result.capabilities, []);
    assertEqual(result.transcript, result.get_transcript());
    assertEqual([result.warnings, result.get_warnings()], [[], []]);
    for (const name of ['address', 'tls_version', 'tls_cipher', 'certificate_subject', 'certificate_issuer',
        'certificate_names', 'certificate_expiry', 'certificate_verified', 'verification', 'auth_mechanism',
        'queue_reply'])
        assertEqual(result[name], result[`get_${name}`](), name);

    for (const provider of Smarthost.Provider.list()) {
        for (const name of ['id', 'name', 'regions', 'default_region', 'username', 'spf_include', 'quirks'])
            assertEqual(provider[name], provider[`get_${name}`](), `${provider.get_id()} ${name}`);
    }
    const ses = Smarthost.Provider.lookup('ses');
    assertEqual([ses.id, ses.default_region], ['ses', 'us-east-1']);
    assert(ses.regions.includes('eu-west-1'));

    // Regression test: a relay Postfix refuses was checked without a word.
    const refused = Smarthost.Probe.new(relay({host: '127.0.0.1', port: closedPort()}));
    refused.set_connect_timeout(5);
    const warned = await refused.run_async(null);
    assertEqual(warned.warnings.length, 1);
    assert(warned.warnings[0].includes('IP address'), warned.warnings[0]);

    const policy = Smarthost.Policy.load_default();
    assert(policy.path && policy.path === policy.get_path(), policy.path);
    for (const name of ['server_enabled', 'domain_enabled', 'restricted'])
        assertEqual(policy[name], policy[`get_${name}`](), name);
    const open = Smarthost.Policy.new();
    assertEqual([open.path, open.server_enabled, open.domain_enabled, open.restricted], [null, true, true, false]);
});

test('providers and SPF', () => {
    const sendgrid = Smarthost.Provider.lookup('sendgrid');
    assertEqual(sendgrid.get_username(), 'apikey');
    assertEqual(sendgrid.get_ports(Security.STARTTLS)[0], 587);
    const [ses, region] = Smarthost.Provider.find_for_relay(
        relay({host: 'email-smtp.eu-west-1.amazonaws.com', username: null, password: null}));
    assertEqual([ses.get_id(), region], ['ses', 'eu-west-1']);
    assertEqual(Smarthost.Provider.list().length > 10, true);

    const [record, warnings] = Smarthost.spf_merge_for_domain('shop.example', 'v=spf1 mx -all',
        sendgrid.get_spf_include());
    assertEqual(record, 'v=spf1 mx include:sendgrid.net -all');
    assertEqual(warnings, []);
    assert(Smarthost.spf_authorizes(record, 'sendgrid.net'));
    assert(!Smarthost.spf_authorizes('v=spf1 ~include:sendgrid.net -all', 'sendgrid.net'));
    assertEqual(Smarthost.spf_to_zone_text(record), `"${record}"`);
});

test('a JavaScript backend: unsupported capabilities are NOT_SUPPORTED', () => {
    const b = new ToyBackend();
    assertEqual(b.get_name(), 'toy');
    assertEqual(b.get_capabilities(), Caps.SERVER_RELAY | Caps.STARTTLS);
    assertEqual(b.get_server(null), null);
    assertEqual(b.get_domain('example.com', null), null);
    assertEqual(b.list_domains(null), []);
    const tx = b.begin();
    assert(tx.set_server(relay()));
    for (const stage of [() => tx.set_domain('example.com', relay()),
        () => tx.set_server(relay({security: Security.TLS}))]) {
        try {
            stage();
            throw new AssertionError('staged an unsupported change');
        } catch (e) {
            if (e instanceof AssertionError)
                throw e;
            assertSmarthostError(e, Smarthost.Error.NOT_SUPPORTED);
        }
    }
    assertEqual(tx.preview(null), '# nothing\n');
    assert(tx.commit(null));
});

// --- the runner: TAP on stdout, exit status 1 on any failure -------------------

async function main() {
    let failures = 0;
    print(`1..${tests.length}`);
    for (const [i, {name, func}] of tests.entries()) {
        try {
            await func();
            print(`ok ${i + 1} - ${name}`);
        } catch (e) {
            failures++;
            print(`not ok ${i + 1} - ${name}`);
            for (const line of `${e}\n${e.stack ?? ''}`.split('\n'))
                print(`# ${line}`);
        }
    }
    return failures;
}

const loop = new GLib.MainLoop(null, false);
let status = 1;
main().then(failures => {
    status = failures > 0 ? 1 : 0;
}).catch(e => {
    print(`Bail out! ${e}`);
}).finally(() => loop.quit());
loop.run();
System.exit(status);
