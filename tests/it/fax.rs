//! The fax spool through the real daemon: real fax files made by ghostscript
//! (tiffg3, tiffg32d, tiffg4, pdfwrite, jpeg) and libtiff (tiffset, tiffcp)
//! dropped into a running `faultdesk run`, rows read back with `--json`,
//! files checked where they must end up; a kill -9 in the middle of a burst;
//! previews compared pixel by pixel with libtiff's own rendering (tiff2rgba).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Daemon, GHOSTSCRIPT, Site, TIFF2RGBA, TIFFCP, TIFFSET, require, run_tool, wait_for, wait_until,
};

const PAGES_PS: &str = "%!PS
/Helvetica findfont 36 scalefont setfont
72 700 moveto (Faultdesk test page ONE) show
newpath 72 100 moveto 500 100 lineto 500 300 lineto 72 300 lineto closepath fill
showpage
/Helvetica findfont 48 scalefont setfont
72 700 moveto (PAGE TWO) show
showpage
/Helvetica findfont 48 scalefont setfont
72 700 moveto (PAGE THREE) show
showpage
";

pub(crate) const ONE_PAGE_PS: &str = "%!PS
/Helvetica findfont 36 scalefont setfont
72 700 moveto (Work order 1) show
showpage
";

pub(crate) fn gs(dir: &Path, device: &str, extra: &[&str], ps: &str, out: &str) -> PathBuf {
    let src = dir.join(format!("{out}.ps"));
    std::fs::write(&src, ps).unwrap();
    let dest = dir.join(out);
    let mut c = require(&GHOSTSCRIPT);
    c.args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER"])
        .arg(format!("-sDEVICE={device}"))
        .args(extra)
        .arg(format!("-sOutputFile={}", dest.display()))
        .arg(&src);
    run_tool(&mut c);
    dest
}

/// Sets the ImageDescription (HylaFAX: `TSI\nCallID…`) of page 1.
pub(crate) fn tiffset_description(file: &Path, text: &str) {
    run_tool(require(&TIFFSET).args(["-s", "270", text]).arg(file));
}

/// The fixtures, made once per test run by the real tools.
struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    fn get() -> &'static Fixtures {
        static F: OnceLock<Fixtures> = OnceLock::new();
        F.get_or_init(|| {
            let dir =
                std::env::temp_dir().join(format!("faultdesk-fax-fixtures-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let d = &dir;
            // 3 pages G3 1-D, fine resolution; 3 pages G3 2-D normal resolution; G4.
            gs(d, "tiffg3", &[], PAGES_PS, "g3.tif");
            gs(d, "tiffg32d", &["-r204x98"], PAGES_PS, "g32d.tif");
            gs(d, "tiffg4", &[], PAGES_PS, "g4.tif");
            gs(d, "tiffg4", &[], ONE_PAGE_PS, "g4one.tif");
            gs(d, "pdfwrite", &[], PAGES_PS, "fax.pdf");
            gs(d, "jpeg", &["-r20"], ONE_PAGE_PS, "photo.jpg");
            // HylaFAX-like: FillOrder 2, many strips, G3 1-D for a desk.
            run_tool(
                require(&TIFFCP)
                    .args(["-f", "lsb2msb", "-r", "128"])
                    .arg(d.join("g3.tif"))
                    .arg(d.join("hylafax_dc.tif")),
            );
            tiffset_description(&d.join("hylafax_dc.tif"), "88218050\n88218050\nDC desk");
            std::fs::copy(d.join("g3.tif"), d.join("d180.tif")).unwrap();
            tiffset_description(&d.join("d180.tif"), "029 8821 7901");
            // The work-order room, TSI in international form, mixed compressions.
            run_tool(
                require(&TIFFCP)
                    .arg(d.join("g32d.tif"))
                    .arg(d.join("g4one.tif"))
                    .arg(d.join("room.tif")),
            );
            tiffset_description(&d.join("room.tif"), "+86 29 8824 7792\nCallID1");
            std::fs::copy(d.join("g4.tif"), d.join("nobody.tif")).unwrap();
            tiffset_description(&d.join("nobody.tif"), "<UNSPECIFIED>");
            std::fs::copy(d.join("g4one.tif"), d.join("hook.tif")).unwrap();
            tiffset_description(&d.join("hook.tif"), "<UNSPECIFIED>\n88218050");
            // A blank TSI, and TSIs of bytes that are no text (stored inline and not).
            for (name, tsi) in [
                ("blank_tsi.tif", &b" "[..]),
                ("binary_tsi.tif", &b"\xff\xfe"[..]),
                ("binary_long_tsi.tif", &b"\xff\xfe\x01 88 \x80\nCallID"[..]),
            ] {
                use std::os::unix::ffi::OsStrExt;
                std::fs::copy(d.join("g4one.tif"), d.join(name)).unwrap();
                run_tool(
                    require(&TIFFSET)
                        .args(["-s", "270"])
                        .arg(std::ffi::OsStr::from_bytes(tsi))
                        .arg(d.join(name)),
                );
            }
            let g3 = std::fs::read(d.join("g3.tif")).unwrap();
            std::fs::write(d.join("truncated.tif"), &g3[..g3.len() / 2]).unwrap();
            Fixtures { dir }
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
}

/// The daemon with the fax watcher's debug lines (its scans) in the log.
fn daemon(site: &Site) -> Daemon {
    Daemon::start(site, &[("RUST_LOG", "info,faultdesk::fax=debug")])
}

fn site(edits: &[(&str, &str)]) -> Site {
    let mut all = vec![
        ("[sip]\nenabled = true", "[sip]\nenabled = false"),
        ("rescan_secs = 30", "rescan_secs = 1"),
    ];
    all.extend_from_slice(edits);
    Site::initialised(&all)
}

fn faxes(site: &Site) -> Vec<Value> {
    site.json(&["fax", "list"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no fax {name} in {list:#?}"))
}

fn wait_for_names(site: &Site, names: &[&str]) -> Vec<Value> {
    let mut list = Vec::new();
    wait_until(format_args!("faxes {names:?}"), || {
        list = faxes(site);
        names.iter().all(|n| list.iter().any(|f| f["name"] == *n))
    });
    list
}

/// Drops a file the way a gateway should: a temporary name, then a rename.
fn drop_renamed(site: &Site, name: &str, bytes: &[u8]) {
    let tmp = site.file(&format!("spool/incoming/.{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, site.file(&format!("spool/incoming/{name}"))).unwrap();
}

/// Drops a file written in place (the close after writing completes it).
fn drop_in_place(site: &Site, name: &str, bytes: &[u8]) {
    std::fs::write(site.file(&format!("spool/incoming/{name}")), bytes).unwrap();
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_kind_of_file_ends_where_it_belongs() {
    let fx = Fixtures::get();
    // Scans take only files still for a minute: a file being written is left alone.
    // Today's acknowledgment on arrival (the default waits for verification: tests/it/orders.rs).
    let s = site(&[
        ("settle_ms = 2000", "settle_ms = 60000"),
        ("ack = \"on_verify\"", "ack = \"on_arrival\""),
    ]);
    // Present before start-up (old enough for the start-up scan), and one a crash left in processing/.
    std::fs::copy(
        fx.path("hylafax_dc.tif"),
        s.file("spool/incoming/early.tif"),
    )
    .unwrap();
    run_tool(
        Command::new("touch")
            .args(["-d", "2026-11-20 10:00"])
            .arg(s.file("spool/incoming/early.tif")),
    );
    std::fs::copy(
        fx.path("g4one.tif"),
        s.file("spool/processing/leftover.tif"),
    )
    .unwrap();

    let d = daemon(&s);
    let list = wait_for_names(&s, &["early.tif", "leftover.tif"]);
    let early = by_name(&list, "early.tif");
    assert_eq!(early["class"], "desk");
    assert_eq!(early["tag"], "DC");
    assert_eq!(early["sender"], "88218050");
    assert_eq!(early["pages"], 3);
    assert_eq!(
        early["call_ids"],
        serde_json::json!(["88218050", "DC desk"])
    );
    assert!(
        early["ticket"].as_str().unwrap().starts_with("DC-"),
        "{early}"
    );
    // Filed by its received day (the file's time when nothing says better).
    assert_eq!(early["path"], "spool/done/2026/11/20/early.tif");
    assert_eq!(by_name(&list, "leftover.tif")["class"], "triage");

    // A file still being written: half of it, the writer keeps it open.
    let half_path = s.file("spool/incoming/slow.tif");
    let room = fx.bytes("room.tif");
    let mut slow = std::fs::File::create(&half_path).unwrap();
    slow.write_all(&room[..room.len() / 2]).unwrap();
    slow.flush().unwrap();

    drop_renamed(&s, "d180.tif", &fx.bytes("d180.tif"));
    drop_in_place(&s, "room.tif", &fx.bytes("room.tif"));
    drop_renamed(&s, "g32d_nobody.tif", &fx.bytes("g32d.tif"));
    drop_renamed(&s, "nobody.tif", &fx.bytes("nobody.tif"));
    drop_renamed(&s, "report.pdf", &fx.bytes("fax.pdf"));
    for name in ["blank_tsi.tif", "binary_tsi.tif", "binary_long_tsi.tif"] {
        drop_renamed(&s, name, &fx.bytes(name));
    }
    // A gateway's sidecar wins: sender and order count.
    std::fs::write(
        s.file("spool/incoming/gw.tif.json"),
        r#"{"sender": "0086 29 88247792", "orders": 2, "received": "2026-11-26T14:05:00+08:00", "gateway": "t38"}"#,
    )
    .unwrap();
    drop_renamed(&s, "gw.tif", &fx.bytes("g4.tif"));
    drop_in_place(&s, "empty.tif", b"");
    drop_in_place(&s, "cut.tif", &fx.bytes("truncated.tif"));
    drop_in_place(&s, "photo.tif", &fx.bytes("photo.jpg"));
    // Temporary and hidden names are never taken.
    drop_in_place(&s, ".hidden.tif", &fx.bytes("g4one.tif"));
    drop_in_place(&s, "partial.tif.part", &fx.bytes("g4one.tif"));
    drop_in_place(&s, "copying.tif.tmp", &fx.bytes("g4one.tif"));
    drop_in_place(&s, "backup.tif~", &fx.bytes("g4one.tif"));

    // A file that arrives without a close or rename event (a hard link: only
    // IN_CREATE) is found by the periodic scan.
    let mut linked = fx.bytes("g4one.tif");
    linked.extend_from_slice(b"linked");
    std::fs::write(s.file("linked.tif"), linked).unwrap();
    run_tool(
        Command::new("touch")
            .args(["-d", "2026-11-21 10:00"])
            .arg(s.file("linked.tif")),
    );
    std::fs::hard_link(s.file("linked.tif"), s.file("spool/incoming/linked.tif")).unwrap();

    let names = [
        "linked.tif",
        "blank_tsi.tif",
        "binary_tsi.tif",
        "binary_long_tsi.tif",
        "d180.tif",
        "room.tif",
        "g32d_nobody.tif",
        "nobody.tif",
        "report.pdf",
        "gw.tif",
        "empty.tif",
        "cut.tif",
        "photo.tif",
    ];
    wait_for_names(&s, &names);
    // The same content again under another name, once the first is recorded.
    drop_renamed(&s, "again.tif", &fx.bytes("d180.tif"));
    let list = wait_for_names(&s, &["again.tif"]);

    let d180 = by_name(&list, "d180.tif");
    assert_eq!(
        (&d180["class"], &d180["tag"], &d180["sender"]),
        (&"desk".into(), &"D180".into(), &"88217901".into())
    );
    let ticket = d180["ticket"].as_str().unwrap();
    assert!(ticket.starts_with("D180-"), "{ticket}");
    let t = s.json(&["ticket", "show", ticket, "-u", "li"]);
    assert_eq!(t["source"], "fax");
    assert_eq!(t["tag"], "D180");
    assert_eq!(t["events"][0]["detail"]["extra"]["fax_id"], d180["id"]);

    let room = by_name(&list, "room.tif");
    assert_eq!(room["class"], "workorders");
    assert_eq!(room["sender"], "88247792");
    assert_eq!(room["tsi"], "+86 29 8824 7792");
    assert_eq!(room["pages"], 4);
    let mut shown = s.json(&["fax", "show", &room["id"].to_string()]);
    assert_eq!(shown["batch"]["orders"], 4);
    // The acknowledgment is a committed row first; the outbox then delivers it
    // (the default file transport writes var/mail/*.eml).
    assert!(matches!(
        shown["acknowledgment"]["state"].as_str(),
        Some("queued" | "sent")
    ));
    wait_until("the work-order acknowledgment is delivered", || {
        shown = s.json(&["fax", "show", &room["id"].to_string()]);
        shown["acknowledgment"]["state"] == "sent"
    });
    let ack = &shown["acknowledgment"];
    let mails: Vec<String> = std::fs::read_dir(s.file("var/mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    let mid = ack["message_id"].as_str().unwrap().to_string();
    assert_eq!(
        mails.iter().filter(|m| m.contains(&mid)).count(),
        1,
        "one .eml with {mid}"
    );
    assert_eq!(ack["recipient"], "88247792@fax.localhost");
    assert_eq!(ack["purpose"], "workorder_ack");
    assert_eq!(
        ack["message_id"],
        format!(
            "<workorder-ack.{}@faultdesk.localhost>",
            shown["batch"]["id"]
        )
    );
    assert!(
        ack["body"]
            .as_str()
            .unwrap()
            .starts_with("金辉社区通信服务中心已收到贵室工单 4 张("),
        "{ack}"
    );

    let gw = by_name(&list, "gw.tif");
    assert_eq!(gw["class"], "workorders");
    let shown = s.json(&["fax", "show", &gw["id"].to_string()]);
    assert_eq!(shown["batch"]["orders"], 2);
    assert_eq!(
        shown["acknowledgment"]["body"],
        "金辉社区通信服务中心已收到贵室工单 2 张(2026-11-26 14:05)"
    );
    assert_eq!(gw["path"], "spool/done/2026/11/26/gw.tif");
    assert!(s.file("spool/done/2026/11/26/gw.tif.json").exists());

    for (name, pages) in [("g32d_nobody.tif", 3), ("nobody.tif", 3), ("report.pdf", 3)] {
        let f = by_name(&list, name);
        assert_eq!(f["state"], "recorded", "{f}");
        assert_eq!(f["class"], "triage", "{f}");
        assert_eq!(f["sender"], Value::Null, "{f}");
        assert_eq!(f["pages"], pages, "{f}");
        // The triage queue is the untagged tickets.
        assert!(f["ticket"].as_str().unwrap().starts_with("U-"), "{f}");
    }
    assert_eq!(by_name(&list, "nobody.tif")["tsi"], Value::Null);
    // A TSI of any bytes never stops intake: kept as text, no sender, triage.
    for (name, tsi) in [
        ("blank_tsi.tif", Value::Null),
        ("binary_tsi.tif", "\u{fffd}\u{fffd}".into()),
        (
            "binary_long_tsi.tif",
            "\u{fffd}\u{fffd}\u{1} 88 \u{fffd}".into(),
        ),
    ] {
        let f = by_name(&list, name);
        assert_eq!(
            (&f["state"], &f["class"]),
            (&"recorded".into(), &"triage".into()),
            "{f}"
        );
        assert_eq!(f["tsi"], tsi, "{f}");
        assert_eq!(f["sender"], Value::Null, "{f}");
    }
    assert_eq!(by_name(&list, "report.pdf")["format"], "pdf");

    for (name, why) in [
        ("empty.tif", "empty"),
        ("cut.tif", "truncated"),
        ("photo.tif", "JPEG"),
    ] {
        let f = by_name(&list, name);
        assert_eq!(f["state"], "failed", "{f}");
        let reason = f["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{name}: {reason}");
        assert_eq!(f["path"], format!("spool/failed/{name}"));
        let beside =
            std::fs::read_to_string(s.file(&format!("spool/failed/{name}.reason"))).unwrap();
        assert!(beside.contains(why), "{beside}");
    }
    assert_eq!(
        by_name(&list, "linked.tif")["path"],
        "spool/done/2026/11/21/linked.tif"
    );
    let again = by_name(&list, "again.tif");
    assert_eq!(again["state"], "duplicate");
    assert_eq!(again["duplicate_of"], d180["id"]);
    assert_eq!(again["ticket"], Value::Null);

    // The half-written file was not taken while open; once closed it is.
    assert!(!list.iter().any(|f| f["name"] == "slow.tif"));
    assert!(half_path.exists());
    slow.write_all(&room_bytes_tail(&fx.bytes("room.tif")))
        .unwrap();
    drop(slow);
    let list = wait_for_names(&s, &["slow.tif"]);
    let slow = by_name(&list, "slow.tif");
    // Same content as room.tif: recorded once, this one is a duplicate.
    assert_eq!(slow["state"], "duplicate");
    assert_eq!(slow["duplicate_of"], room["id"]);

    // HylaFAX's hook hands a finished file over with its call ids.
    let qfile = fx.path("hook.tif");
    s.ok(&[
        "fax",
        "faxrcvd",
        qfile.to_str().unwrap(),
        "ttyS0",
        "000123",
        "",
        "88218050",
        "DC desk",
    ]);
    s.ok(&[
        "fax",
        "faxrcvd",
        fx.path("g3.tif").to_str().unwrap(),
        "ttyS0",
        "000124",
        "RSPREC error: got DCN",
        "88217901",
    ]);
    let list = wait_for_names(&s, &["hook.tif", "g3.tif"]);
    let hooked = by_name(&list, "hook.tif");
    assert_eq!(
        (&hooked["tag"], &hooked["partial"]),
        (&"DC".into(), &false.into())
    );
    let partial = by_name(&list, "g3.tif");
    assert_eq!(partial["partial"], true);
    assert_eq!(partial["error"], "RSPREC error: got DCN");
    assert_eq!(partial["tag"], "D180");

    // Previews: G3 2-D at normal resolution has its rows doubled.
    let png = s.file("p.png");
    s.ok(&[
        "fax",
        "preview",
        &room["id"].to_string(),
        "1",
        "-o",
        png.to_str().unwrap(),
        "-u",
        "li",
    ]);
    let head = std::fs::read(&png).unwrap();
    assert_eq!(&head[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) = (
        u32::from_be_bytes(head[16..20].try_into().unwrap()),
        u32::from_be_bytes(head[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1728, 2 * 1146));
    // PDF pages through ghostscript.
    let pdf = by_name(&list, "report.pdf");
    s.ok(&[
        "fax",
        "preview",
        &pdf["id"].to_string(),
        "3",
        "-o",
        png.to_str().unwrap(),
        "-u",
        "li",
    ]);
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    let e = s.fails(
        &[
            "fax",
            "preview",
            &pdf["id"].to_string(),
            "4",
            "-o",
            "x.png",
            "-u",
            "li",
        ],
        1,
    );
    assert!(e.contains("page 4 does not exist"), "{e}");
    let e = s.fails(
        &[
            "fax",
            "preview",
            &room["id"].to_string(),
            "9",
            "-o",
            "x.png",
            "-u",
            "li",
        ],
        1,
    );
    assert!(e.contains("page 9 does not exist"), "{e}");
    let e = s.fails(
        &[
            "fax",
            "preview",
            &by_name(&list, "cut.tif")["id"].to_string(),
            "1",
            "-o",
            "x.png",
            "-u",
            "li",
        ],
        1,
    );
    assert!(e.contains("could not be read"), "{e}");

    d.stop();
    // Every file is somewhere: incoming holds only what must not be taken; nothing is lost.
    assert_eq!(
        files_under(&s.file("spool/incoming")),
        [
            ".hidden.tif",
            "backup.tif~",
            "copying.tif.tmp",
            "partial.tif.part"
        ]
    );
    assert!(files_under(&s.file("spool/processing")).is_empty());
    let failed = files_under(&s.file("spool/failed"));
    assert_eq!(failed.len(), 6, "{failed:?}");
    let total = faxes(&s);
    assert_eq!(total.len(), 19);
    for f in &total {
        assert!(s.file(f["path"].as_str().unwrap()).exists(), "{f}");
    }
}

/// The rest of a file after its first half.
fn room_bytes_tail(all: &[u8]) -> Vec<u8> {
    all[all.len() / 2..].to_vec()
}

#[test]
fn remember_mode_reads_in_place_and_changes_nothing() {
    let fx = Fixtures::get();
    let s = site(&[
        ("mode = \"move\"", "mode = \"remember\""),
        ("settle_ms = 2000", "settle_ms = 0"),
    ]);
    let inc = s.file("spool/incoming");
    std::fs::copy(fx.path("room.tif"), inc.join("fax00001.tif")).unwrap();
    std::fs::copy(fx.path("nobody.tif"), inc.join("fax00002.tif")).unwrap();
    std::fs::write(inc.join("fax00003.tif"), b"").unwrap();
    let before = snapshot(&inc);

    let d = daemon(&s);
    let list = wait_for_names(&s, &["fax00001.tif", "fax00002.tif", "fax00003.tif"]);
    assert_eq!(by_name(&list, "fax00001.tif")["class"], "workorders");
    assert_eq!(by_name(&list, "fax00003.tif")["state"], "failed");
    assert_eq!(
        by_name(&list, "fax00001.tif")["path"],
        "spool/incoming/fax00001.tif"
    );
    drop_renamed(&s, "fax00004.tif", &fx.bytes("d180.tif"));
    wait_for_names(&s, &["fax00004.tif"]);
    d.stop();
    // A restart records nothing again: once a fax dropped after the start-up
    // scan is in, and a periodic scan has passed, there are still only the new one.
    let d = daemon(&s);
    drop_renamed(&s, "fax00005.tif", &fx.bytes("g32d.tif"));
    wait_for_names(&s, &["fax00005.tif"]);
    let scans = || s.daemon_log().matches("fax spool scan").count();
    let seen = scans();
    wait_until("a periodic scan", || scans() > seen);
    d.stop();
    assert_eq!(faxes(&s).len(), 5);
    let mut after = snapshot(&inc);
    after.retain(|(n, _)| n != "fax00004.tif" && n != "fax00005.tif");
    assert_eq!(before, after, "the watched folder was changed");
    assert!(files_under(&s.file("spool/done")).is_empty());
    assert!(!s.file("spool/failed/fax00003.tif.reason").exists());
}

fn snapshot(dir: &Path) -> Vec<(String, (u64, std::time::SystemTime))> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn kill_9_in_a_burst_then_restart_records_every_fax_exactly_once() {
    let fx = Fixtures::get();
    let s = site(&[("settle_ms = 2000", "settle_ms = 0")]);
    let g4 = fx.bytes("g4one.tif");
    // 200 different one-page faxes: trailing bytes after the TIFF data make each unique.
    let fax = move |i: usize| {
        let mut b = g4.clone();
        b.extend_from_slice(format!("burst-{i:04}").as_bytes());
        b
    };
    let d = daemon(&s);
    // The first half of the burst arrives while the daemon runs; it is killed
    // while taking it; the second half arrives while it is down.
    let killed = Arc::new(AtomicBool::new(false));
    let dropper = {
        let inc = s.file("spool/incoming");
        let killed = killed.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                if i == 100 {
                    wait_until("the kill", || killed.load(Ordering::SeqCst));
                }
                let name = format!("b{i:03}.tif");
                let tmp = inc.join(format!(".{name}.tmp"));
                std::fs::write(&tmp, fax(i)).unwrap();
                std::fs::rename(&tmp, inc.join(&name)).unwrap();
            }
        })
    };
    wait_until("some faxes recorded", || faxes(&s).len() >= 20);
    d.kill9();
    killed.store(true, Ordering::SeqCst);
    assert!(
        faxes(&s).len() <= 100,
        "nothing of the second half before the kill"
    );
    dropper.join().unwrap();
    let d = daemon(&s);
    let mut list = Vec::new();
    wait_for("all 200 faxes", Duration::from_secs(90), || {
        list = faxes(&s);
        (list.len() >= 200).then_some(())
    });
    d.stop();
    let list = faxes(&s);
    assert_eq!(list.len(), 200, "every fax exactly once");
    let mut names: Vec<&str> = list.iter().map(|f| f["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 200);
    assert!(
        list.iter().all(|f| f["state"] == "recorded"),
        "no duplicates or failures"
    );
    assert!(files_under(&s.file("spool/incoming")).is_empty());
    assert!(files_under(&s.file("spool/processing")).is_empty());
    assert_eq!(files_under(&s.file("spool/done")).len(), 200);
    // Every fax is one untagged ticket's report (no TSI: one ticket each).
    let tickets = s.json(&["-u", "li", "ticket", "list"]);
    assert_eq!(tickets.as_array().unwrap().len(), 200);
}

/// Decodes a 1-bit PNG to (width, height, packed rows).
fn png_rows(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn render_page(file: &Path, page: u32) -> (u32, u32, Vec<u8>) {
    use faultdesk::fax::{preview, read};
    let bytes = std::fs::read(file).unwrap();
    let facts = read::read(&bytes).unwrap();
    let mut out = Vec::new();
    preview::render(&bytes, &facts.tiff_pages, page, &mut out).unwrap();
    png_rows(&out)
}

/// One page as libtiff renders it: width, height, one flag per pixel
/// (true: black), row by row.
struct Page {
    width: u32,
    height: u32,
    ink: Vec<bool>,
}

/// Every page of `file` as libtiff itself renders it: `tiff2rgba` (libtiff's
/// RGBA reader, every directory, written uncompressed as RGB), read back.
fn libtiff_pages(file: &Path, dir: &Path) -> Vec<Page> {
    let rgb = dir.join("libtiff-rgb.tif");
    run_tool(
        require(&TIFF2RGBA)
            .args(["-c", "none", "-n"])
            .arg(file)
            .arg(&rgb),
    );
    let mut d = tiff::decoder::Decoder::new(std::fs::File::open(&rgb).unwrap()).unwrap();
    let mut pages = Vec::new();
    loop {
        let (width, height) = d.dimensions().unwrap();
        let tiff::decoder::DecodingResult::U8(px) = d.read_image().unwrap() else {
            panic!("tiff2rgba wrote other than 8-bit samples")
        };
        assert_eq!(px.len(), (width * height * 3) as usize);
        let ink = px
            .chunks(3)
            .map(|p| match p {
                [0, 0, 0] => true,
                [255, 255, 255] => false,
                other => panic!("a fax pixel neither black nor white: {other:?}"),
            })
            .collect();
        pages.push(Page { width, height, ink });
        if !d.more_images() {
            return pages;
        }
        d.next_image().unwrap();
    }
}

#[test]
fn previews_match_libtiff_pixel_for_pixel() {
    let fx = Fixtures::get();
    let dir = tempfile::tempdir().unwrap();
    let lsb_g32d = dir.path().join("g32d_lsb.tif");
    run_tool(
        require(&TIFFCP)
            .args(["-f", "lsb2msb", "-c", "g3:2d:fill", "-r", "64"])
            .arg(fx.path("g32d.tif"))
            .arg(&lsb_g32d),
    );
    for (file, doubled) in [
        (fx.path("g3.tif"), false),
        (fx.path("g32d.tif"), true),
        (fx.path("g4.tif"), false),
        (fx.path("hylafax_dc.tif"), false),
        (lsb_g32d, true),
    ] {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let reference = libtiff_pages(&file, dir.path());
        assert_eq!(reference.len(), 3, "{name}: libtiff's page count");
        for (page, want) in (1..).zip(&reference) {
            let (width, height, rows) = render_page(&file, page);
            // Normal-resolution pages have every row doubled in the preview.
            let factor = if doubled { 2 } else { 1 };
            assert_eq!(
                (width, height),
                (want.width, want.height * factor),
                "{name} page {page}: size against libtiff's"
            );
            let stride = width.div_ceil(8) as usize;
            let mut differ = 0;
            let mut first = None;
            for y in 0..height {
                for x in 0..width {
                    let byte = rows[y as usize * stride + (x / 8) as usize];
                    let black = byte & (0x80 >> (x % 8)) == 0;
                    if black != want.ink[((y / factor) * width + x) as usize] {
                        differ += 1;
                        first.get_or_insert((x, y));
                    }
                }
            }
            assert_eq!(
                differ, 0,
                "{name} page {page}: {differ} pixels differ from libtiff's, the first at {first:?}"
            );
            // Not blank: the page has ink.
            assert!(want.ink.contains(&true), "{name} page {page} is blank");
        }
    }
}

#[test]
fn bad_fax_commands_are_refused_naming_what() {
    let s = site(&[]);
    let e = s.fails(&["fax", "list", "--state", "lost"], 2);
    assert!(
        e.contains("'lost'") && e.contains("--state") && e.contains("recorded"),
        "{e}"
    );
    let e = s.fails(&["fax", "show", "42"], 1);
    assert!(e.contains("fax 42: no such fax"), "{e}");
    let e = s.fails(
        &[
            "fax",
            "faxrcvd",
            "/nonexistent/fax00001.tif",
            "ttyS0",
            "1",
            "",
        ],
        1,
    );
    assert!(e.contains("/nonexistent/fax00001.tif"), "{e}");
    let e = s.fails(&["fax", "preview", "1", "1", "-o", "x.png"], 2);
    assert!(e.contains("--user"), "{e}");
    assert!(files_under(&s.file("spool")).is_empty());
}
