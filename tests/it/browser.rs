//! The console in a real headless browser (Debian's chromium driven through
//! chromium-driver; fonts-noto-cjk so Chinese renders): log in, a sipp call
//! rings and its pop appears on two consoles, the agent claims it and fills
//! in the fault, the other sees the board update, the ticket is repaired and
//! called back, a wrong number is voided, the manager reads the audit log.
//! Every page is saved as a 1366×768 screenshot under target/screenshots/.
//!
//! Needs: `apt-get install -y chromium chromium-driver fonts-noto-cjk sip-tester`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{self, CALLING_ALL_DAY, Site, free_port};
use crate::web::{Daemon, sip, sip_send, staffed, start};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    /// Kills chromedriver's whole process group: the chromium processes it
    /// started die with it even when a test fails before closing its session
    /// (they would otherwise outlive the test and load the machine).
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (`process_group(0)` below).
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group only.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn driver() -> Driver {
    for peer in [
        &support::CHROMIUM,
        &support::CHROMEDRIVER,
        &support::CJK_FONTS,
    ] {
        // Fails naming the package when the peer is missing.
        let _ = support::require(peer);
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, port }
}

pub(crate) async fn browser(d: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,768", "--lang=zh-CN", "--force-device-scale-factor=1"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a browser session")
}

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

pub(crate) async fn login(c: &Client, d: &Daemon, user: &str) {
    c.goto(&format!("http://127.0.0.1:{}/login", d.web))
        .await
        .unwrap();
    c.find(Locator::Css("input[name=user]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(&format!("pw-{user}-secret"))
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(c, "header.top", "退出").await;
}

/// Waits until the element at `css` exists and contains `text`.
pub(crate) async fn wait_text(c: &Client, css: &str, text: &str) -> String {
    let t0 = Instant::now();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
            && t.contains(text)
        {
            return t;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let html = c.source().await.unwrap_or_default();
            panic!("{css} never said {text}; the page:\n{html}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Clicks the element at `css`; found again when the live stream replaced
/// it between the finding and the click.
pub(crate) async fn click(c: &Client, css: &str) {
    let t0 = Instant::now();
    loop {
        let clicked = match c.find(Locator::Css(css)).await {
            Ok(e) => e.click().await,
            Err(e) => Err(e),
        };
        match clicked {
            Ok(_) => return,
            Err(e) if t0.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("click {css}: {e}"),
        }
    }
}

/// One sipp call from `caller_prefix` + 1, ringing `ring_ms`, then answered elsewhere.
fn sipp_call(d: &Daemon, site: &Site, caller_prefix: &str, ring_ms: u32) -> Child {
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sipp/uac-elsewhere.xml");
    Command::new("sipp")
        .current_dir(site.path())
        .args([
            &format!("127.0.0.1:{}", d.sip),
            "-sf",
            xml.to_str().unwrap(),
            "-i",
            "127.0.0.1",
            "-p",
            &free_port().to_string(),
            "-s",
            "88833114",
            "-m",
            "1",
            "-d",
            &ring_ms.to_string(),
            "-cid_str",
            "browser-%u-%p@%s",
            "-key",
            "caller",
            caller_prefix,
            "-timeout",
            "30s",
            "-nostdin",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp (apt-get install -y sip-tester)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let site = staffed(&[
        CALLING_ALL_DAY[0],
        CALLING_ALL_DAY[1],
        ("after_repair_minutes = 30", "after_repair_minutes = 0"),
    ]);
    let d = start(&site);
    let drv = driver();
    let li = browser(&drv).await;
    let zhang = browser(&drv).await;
    li.goto(&format!("http://127.0.0.1:{}/login", d.web))
        .await
        .unwrap();
    shot(&li, "01-login").await;
    login(&li, &d, "li").await;
    login(&zhang, &d, "zhang").await;
    wait_text(&li, "#conn", "实时").await;
    wait_text(&zhang, "#conn", "实时").await;

    // The call rings: the pop appears by itself on both consoles.
    let mut call = sipp_call(&d, &site, "6869123", 4000);
    let card = wait_text(&li, "#card .card", "孙丽").await;
    assert!(
        card.contains("馨苑1#-2-401") && card.contains("你好,客服中心"),
        "{card}"
    );
    wait_text(&zhang, "#card .card", "孙丽").await;
    shot(&li, "02-live-ringing").await;
    let _ = call.wait();

    // Answered elsewhere: li claims it; zhang sees who has it.
    wait_text(&li, "#card .status", "已接听").await;
    click(&li, "#card button[data-claim]").await;
    wait_text(&li, "#msg", "已认领").await;
    wait_text(&zhang, "#card", "李娜 已认领").await;
    // Read in the page: the card is re-rendered by the live stream meanwhile.
    let number = li
        .execute(
            "return document.querySelector('#card .card').dataset.ticket;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();

    // zhang watches the board while li fills in the fault.
    zhang
        .goto(&format!("http://127.0.0.1:{}/board", d.web))
        .await
        .unwrap();
    wait_text(&zhang, "#rows", &number).await;
    li.find(Locator::Css("#card select[name=service_type]"))
        .await
        .unwrap()
        .select_by_value("宽带")
        .await
        .unwrap();
    fill(&li, "#card input[name=fault]", "不能上网,光猫红灯").await;
    click(&li, "#card form.quick button[type=submit]").await;
    wait_text(&li, "#msg", "已保存").await;
    wait_text(&zhang, "#rows", "不能上网,光猫红灯").await;
    shot(&li, "03-live-saved").await;
    shot(&zhang, "04-board").await;

    // The ticket: mark repaired with the cause.
    li.goto(&format!("http://127.0.0.1:{}/tickets/{number}", d.web))
        .await
        .unwrap();
    wait_text(&li, ".history", "我接的").await;
    shot(&li, "05-ticket").await;
    fill(&li, ".actions input[name=cause]", "光猫故障").await;
    li.find(Locator::XPath(
        "//div[@class='actions']//button[contains(., '修好')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&li, ".tickethead", "已修好").await;

    // The callback, due at once here: passed, 满意.
    li.goto(&format!("http://127.0.0.1:{}/callbacks", d.web))
        .await
        .unwrap();
    let cb = wait_text(&li, ".cblist", &number).await;
    assert!(cb.contains("1号楼2单元401室"), "{cb}");
    shot(&li, "06-callbacks").await;
    print_callbacks(&li, &number).await;
    click(&li, ".cblist input[name=satisfaction][value='满意']").await;
    fill(&li, ".cblist input[name=handling]", "已上门更换光猫").await;
    li.find(Locator::XPath(
        "//div[@class='cblist']//button[contains(., '记录')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&li, "#msg", "已保存").await;
    let t = site.json(&["-u", "wang", "ticket", "show", &number]);
    assert_eq!(t["state"], "closed");
    assert_eq!(t["satisfaction"], "满意");

    // A desk's wrong number (the test desk's own number, sent as is): voided from the pop.
    answered_elsewhere(&d, "browser-desk-1", "88218050");
    li.goto(&format!("http://127.0.0.1:{}/live", d.web))
        .await
        .unwrap();
    wait_text(&li, "#calls", "8821 8050").await;
    click(&li, "#calls a[data-card]").await;
    let card = wait_text(&li, "#card .card", "电信测量台").await;
    assert!(card.contains("DC-"), "{card}");
    click(&li, "#card input[name=class][value=wrong_number]").await;
    fill(&li, "#card input[name=reason]", "误拨").await;
    click(&li, "#card form.quick button[type=submit]").await;
    wait_text(&li, "#msg", "已保存").await;
    let dc = site.json(&["-u", "wang", "ticket", "list", "--tag", "DC"]);
    assert_eq!(dc[0]["state"], "voided");

    // 我接的 by its key: the call just answered elsewhere, not the newer one still ringing.
    press_j_claims_the_call_taken(&li, &d, &site).await;

    // Three faults from one building: the board shows the outage too.
    for acc in ["dw0310101", "dw0320502", "dw0311201"] {
        site.new_ticket(&["--account", acc, "--fault", "不能上网"]);
    }
    li.goto(&format!("http://127.0.0.1:{}/board", d.web))
        .await
        .unwrap();
    wait_text(&li, "#banner", "馨苑3号楼疑似大面积故障,已有 3 户报障").await;
    shot(&li, "04b-board-outage").await;

    // A desk's fax: its ticket shows the pages.
    let fax_ticket = crate::web::desk_fax(&site)["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    li.goto(&format!("http://127.0.0.1:{}/tickets/{fax_ticket}", d.web))
        .await
        .unwrap();
    wait_text(&li, "aside", "传真 1").await;
    let loaded = wait_js(
        &li,
        "return Array.from(document.querySelectorAll('.faxpages img')).filter(i => i.complete && i.naturalWidth > 1000).length;",
        2,
    )
    .await;
    assert_eq!(loaded, 2, "both fax pages shown");
    shot(&li, "05b-ticket-fax").await;

    // The other pages, and the manager's audit log.
    for (path, name) in [
        ("/subscribers?q=68691231", "07-subscribers"),
        ("/outbox", "08-outbox"),
    ] {
        li.goto(&format!("http://127.0.0.1:{}{path}", d.web))
            .await
            .unwrap();
        wait_text(&li, "main", "").await;
        shot(&li, name).await;
    }
    li.goto(&format!("http://127.0.0.1:{}/subscribers/dw0120401", d.web))
        .await
        .unwrap();
    wait_text(&li, "main", "本次查看已记录").await;
    shot(&li, "09-subscriber").await;
    let wang = browser(&drv).await;
    login(&wang, &d, "wang").await;
    wang.goto(&format!("http://127.0.0.1:{}/audit", d.web))
        .await
        .unwrap();
    let audit = wait_text(&wang, "main", "call.claim").await;
    assert!(
        audit.contains("李娜") && audit.contains("ticket.classify"),
        "{audit}"
    );
    shot(&wang, "10-audit").await;

    // Nothing overflows the 1366 px width on any page.
    for c in [&li, &zhang, &wang] {
        let w = c
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .unwrap();
        assert!(w.as_i64().unwrap_or(0) <= 1366, "a page is {w} px wide");
    }
    for c in [li, zhang, wang] {
        let _ = c.close().await;
    }
}

/// Waits until the script returns at least `want`; what it returned.
async fn wait_js(c: &Client, script: &str, want: i64) -> i64 {
    let t0 = Instant::now();
    loop {
        let got = c
            .execute(script, vec![])
            .await
            .ok()
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        if got >= want || t0.elapsed() > Duration::from_secs(30) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Who claimed a call, from the store.
fn claimed_by(site: &Site, call_id: &str) -> Option<String> {
    site.db()
        .query_row(
            "SELECT claimed_by FROM calls WHERE call_id = ?1",
            [call_id],
            |r| r.get(0),
        )
        .ok()
        .flatten()
}

/// Presses a key on the page (outside any field).
async fn press(c: &Client, key: &str) {
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

/// A call that rings and is answered on another phone (CANCEL, cause 200).
fn answered_elsewhere(d: &Daemon, call_id: &str, from: &str) {
    sip_send(d.sip, &sip("INVITE", call_id, from, None));
    sip_send(d.sip, &sip("CANCEL", call_id, from, Some("SIP;cause=200")));
}

/// Call A rings and is answered elsewhere, then call B rings (its pop on
/// the card, its 我接的 first on the page): J claims A, the call the agent
/// took. Then the agent opens an older answered call (弹屏): J claims that one.
async fn press_j_claims_the_call_taken(li: &Client, d: &Daemon, site: &Site) {
    li.goto(&format!("http://127.0.0.1:{}/live", d.web))
        .await
        .unwrap();
    wait_text(li, "#conn", "实时").await;
    answered_elsewhere(d, "browser-j-old", "13700000003");
    wait_text(li, "#calls", "137 0000 0003").await;
    answered_elsewhere(d, "browser-j-a", "13700000001");
    wait_text(li, "#card .status", "已接听").await;
    sip_send(d.sip, &sip("INVITE", "browser-j-b", "13700000002", None));
    wait_text(li, "#card .status", "振铃中").await;
    wait_text(li, "#card", "137 0000 0002").await;
    press(li, "j").await;
    wait_text(li, "#msg", "已认领").await;
    assert_eq!(claimed_by(site, "browser-j-a").as_deref(), Some("li"));
    assert_eq!(
        claimed_by(site, "browser-j-b"),
        None,
        "the ringing call was claimed"
    );
    assert_eq!(claimed_by(site, "browser-j-old"), None);
    // The agent opens the older call: J now means that one.
    click(li, "#calls tr[data-call='browser-j-old'] a[data-card]").await;
    wait_text(li, "#card", "137 0000 0003").await;
    press(li, "j").await;
    let t0 = Instant::now();
    while claimed_by(site, "browser-j-old").is_none() && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(claimed_by(site, "browser-j-old").as_deref(), Some("li"));
    assert_eq!(
        claimed_by(site, "browser-j-b"),
        None,
        "the ringing call was claimed"
    );
}

/// The callback list as chromium prints it (A4 landscape, the print
/// stylesheet): saved as PDF and, through ghostscript, as a PNG beside the
/// screenshots; the sheet has the callback's line and none of the screen's
/// navigation or forms.
async fn print_callbacks(c: &Client, number: &str) {
    use fantoccini::wd::{PrintConfigurationBuilder, PrintOrientation};
    let cfg = PrintConfigurationBuilder::default()
        .orientation(PrintOrientation::Landscape)
        .build()
        .unwrap();
    let pdf = c.print(cfg).await.expect("print the callbacks page");
    let file = shots().join("06b-callbacks-print.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let png = shots().join("06b-callbacks-print.png");
    support::run_tool(
        support::require(&support::GHOSTSCRIPT)
            .args([
                "-q",
                "-dNOPAUSE",
                "-dBATCH",
                "-dSAFER",
                "-sDEVICE=png16m",
                "-r110",
            ])
            .args(["-dFirstPage=1", "-dLastPage=1"])
            .arg(format!("-sOutputFile={}", png.display()))
            .arg(&file),
    );
    let text = String::from_utf8_lossy(
        &support::run_tool(
            support::require(&support::GHOSTSCRIPT)
                .args([
                    "-q",
                    "-dNOPAUSE",
                    "-dBATCH",
                    "-dSAFER",
                    "-sDEVICE=txtwrite",
                    "-sOutputFile=-",
                ])
                .arg(&file),
        )
        .stdout,
    )
    .to_string();
    assert!(
        text.contains(number),
        "the printed sheet lacks {number}: {text}"
    );
    for screen_only in ["Ctrl", "退出", "勾选的未接回拨"] {
        assert!(
            !text.contains(screen_only),
            "the printed sheet shows {screen_only:?}: {text}"
        );
    }
}
