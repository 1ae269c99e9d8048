//! The console in a real headless browser (Debian's chromium driven through
//! chromium-driver; fonts-noto-cjk so Chinese renders): log in, a sipp call
//! rings and its pop appears on two consoles, the agent claims it and fills
//! in the fault, the other sees the board update, the ticket is repaired and
//! called back, a wrong number is voided, the manager reads the audit log.
//! Every page is saved as a 1366×768 screenshot under target/screenshots/.
//!
//! Needs: `apt-get install -y chromium chromium-driver fonts-noto-cjk sip-tester`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{self, Site, free_port};
use crate::web::{Daemon, sip, sip_send, staffed, start};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
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

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
        ("window_start = \"09:00\"", "window_start = \"00:00\""),
        ("window_end = \"20:00\"", "window_end = \"23:59\""),
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
    sip_send(d.sip, &sip("INVITE", "browser-desk-1", "88218050", None));
    sip_send(
        d.sip,
        &sip(
            "CANCEL",
            "browser-desk-1",
            "88218050",
            Some("SIP;cause=200"),
        ),
    );
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
