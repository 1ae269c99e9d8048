//! `faultdesk order …`: work orders from the verified fax to the archive.
//! Every change is made by `core::orders` under the acting person (audited
//! there); every listing of orders shows customers and is audited here.

use std::io::Read;

use anyhow::{Context, Result};
use chrono::Utc;

use super::args::{OrderCmd, OrderFilter, SerialArgs};
use super::{actor, local, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::Rules;
use faultdesk::core::orders::{self, CallbackInput, StepInput, Verification};
use faultdesk::domain::order::{OrderInput, Step};
use faultdesk::store::orders::{self as rows, Order};
use faultdesk::store::{self, Store};

fn print_order(rules: &Rules, o: &Order, now: chrono::DateTime<Utc>) {
    let red = if orders::slip_overdue(o, now) {
        "  !! 签字单超期"
    } else {
        ""
    };
    println!(
        "{}  {}  {}  {}  {}  {}  开通 {}{}{red}",
        o.serial,
        o.state.word(),
        o.address,
        o.name,
        o.line.as_deref().unwrap_or("-"),
        o.service,
        o.activation_on,
        o.slip_due_at
            .map(|d| format!("  签字单时限 {}", local(rules, d)))
            .unwrap_or_default(),
    );
}

fn rows_filter(f: &OrderFilter) -> rows::Filter {
    rows::Filter {
        state: f.state,
        batch_id: f.batch,
        origin: f.origin,
    }
}

/// Reads the orders' fields from a JSON file, or stdin for `-`.
fn read_orders(path: &std::path::Path) -> Result<Vec<OrderInput>> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON array of orders (name, contact, address, service, …)",
            path.display()
        )
    })
}

/// Takes a step on one order and prints it.
fn step(
    st: &mut Store,
    rules: &Rules,
    who: &str,
    a: &SerialArgs,
    s: Step,
    input: StepInput,
) -> Result<()> {
    let now = Utc::now();
    let o = st.write(|c| orders::step(c, rules, who, now, &a.serial, s, &input))?;
    if a.json {
        return print_json(&o);
    }
    print_order(rules, &o, now);
    Ok(())
}

pub(super) fn order(
    cli: &super::args::Cli,
    cfg: &Config,
    rules: &Rules,
    cmd: &OrderCmd,
) -> Result<()> {
    let mut st = open(cfg)?;
    let now = Utc::now();
    // Every order command shows or changes customers' data: it needs a person.
    let who = actor(cli, &st)?;
    let seen = |st: &mut Store, action: &str, object: Option<&str>| {
        st.write(|c| store::audit::record(c, now, &who, action, object, None))
    };
    match cmd {
        OrderCmd::Batches { state, json } => {
            seen(&mut st, "order.batches", None)?;
            let list = st.read(|c| rows::batches(c, *state))?;
            if *json {
                return print_json(&list);
            }
            for b in &list {
                println!(
                    "batch {}  fax {}  {}  {} pages  {} orders  told {}  received {}",
                    b.id,
                    b.fax_id,
                    b.state,
                    b.pages.unwrap_or(0),
                    b.orders,
                    b.acked_count.map_or_else(|| "-".into(), |n| n.to_string()),
                    local(rules, b.received_at),
                );
            }
            Ok(())
        }
        OrderCmd::Verify {
            batch,
            pages,
            orders: file,
            json,
        } => {
            let v = Verification {
                pages: pages.clone(),
                orders: read_orders(file)?,
            };
            let done = st.write(|c| orders::verify(c, rules, &who, now, *batch, &v))?;
            if *json {
                return print_json(&done);
            }
            println!(
                "batch {} verified: {} orders{}",
                done.batch.id,
                done.orders.len(),
                done.queued
                    .as_deref()
                    .map(|m| format!(", the room is told ({m})"))
                    .unwrap_or_default()
            );
            for o in &done.orders {
                print_order(rules, o, now);
            }
            Ok(())
        }
        OrderCmd::New(n) => {
            let input = OrderInput {
                line: n.line.clone(),
                account: n.account.clone(),
                name: n.name.clone(),
                contact: n.contact.clone(),
                address: n.address.clone(),
                service: n.service.clone(),
                accepted_on: None,
                remarks: n.remarks.clone(),
            };
            let o = st.write(|c| orders::new_own(c, rules, &who, now, &input))?;
            if n.json {
                return print_json(&o);
            }
            print_order(rules, &o, now);
            Ok(())
        }
        OrderCmd::List { filter, json } => {
            seen(&mut st, "order.list", None)?;
            let f = rows_filter(filter);
            let list = st.read(|c| rows::list(c, &f))?;
            if *json {
                let shown: Vec<_> = list
                    .iter()
                    .map(|o| {
                        let mut v = serde_json::to_value(o).unwrap_or_default();
                        if let Some(m) = v.as_object_mut() {
                            m.insert("slip_overdue".into(), orders::slip_overdue(o, now).into());
                        }
                        v
                    })
                    .collect();
                return print_json(&shown);
            }
            for o in &list {
                print_order(rules, o, now);
            }
            Ok(())
        }
        OrderCmd::Show { serial, json } => {
            seen(&mut st, "order.show", Some(serial))?;
            let shown = st.read(|c| orders::show(c, now, serial))?;
            if *json {
                return print_json(&shown);
            }
            print_order(rules, &shown.order, now);
            for e in &shown.events {
                println!(
                    "  {}  {}  {}  {}",
                    local(rules, e.at),
                    e.actor,
                    e.step,
                    e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default()
                );
            }
            Ok(())
        }
        OrderCmd::Late { json } => {
            seen(&mut st, "order.late", None)?;
            let late = st.read(|c| orders::late(c, now))?;
            if *json {
                return print_json(&late);
            }
            for b in &late.batches {
                println!(
                    "batch {} (fax {}): not all entered by {}",
                    b.id,
                    b.fax_id,
                    b.entry_due_at.map(|d| local(rules, d)).unwrap_or_default()
                );
            }
            for o in &late.slips {
                print_order(rules, o, now);
            }
            Ok(())
        }
        OrderCmd::Enter(a) => step(&mut st, rules, &who, a, Step::Enter, StepInput::default()),
        OrderCmd::Dispatch { order, technician } => step(
            &mut st,
            rules,
            &who,
            order,
            Step::Dispatch,
            StepInput {
                technician: Some(technician.clone()),
                ..Default::default()
            },
        ),
        OrderCmd::Sign(a) => step(&mut st, rules, &who, a, Step::Sign, StepInput::default()),
        OrderCmd::Slip { order, fax, file } => step(
            &mut st,
            rules,
            &who,
            order,
            Step::ReturnSlip,
            StepInput {
                slip_fax: *fax,
                slip_file: file.clone(),
                ..Default::default()
            },
        ),
        OrderCmd::Install { order, day } => step(
            &mut st,
            rules,
            &who,
            order,
            Step::Install,
            StepInput {
                day: *day,
                ..Default::default()
            },
        ),
        OrderCmd::Callback {
            order,
            result,
            handling,
            satisfaction,
        } => {
            let input = CallbackInput {
                result: Some(*result),
                handling: handling.clone(),
                satisfaction: satisfaction.clone(),
            };
            let o = st.write(|c| orders::callback(c, rules, &who, now, &order.serial, &input))?;
            if order.json {
                return print_json(&o);
            }
            print_order(rules, &o, now);
            Ok(())
        }
        OrderCmd::Returns { json } => {
            let sent = st.write(|c| orders::send_returns(c, rules, &who, now))?;
            if *json {
                return print_json(&sent);
            }
            match sent {
                Some(r) => println!("回单 queued ({}): {}", r.message_id, r.orders.join(", ")),
                None => println!("no completed order waits for its 回单"),
            }
            Ok(())
        }
        OrderCmd::Archive(a) => step(&mut st, rules, &who, a, Step::Archive, StepInput::default()),
        OrderCmd::Export { file, filter } => {
            let f = rows_filter(filter);
            let name = file.display().to_string();
            seen(&mut st, "order.export", Some(&name))?;
            let bytes = st.read(|c| orders::export_xlsx(c, rules, now, &f))?;
            std::fs::write(file, bytes).with_context(|| format!("cannot write {name}"))?;
            println!("orders written to {name}");
            Ok(())
        }
    }
}
