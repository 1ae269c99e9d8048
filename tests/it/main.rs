//! Integration tests: the real `faultdesk` binary in a temp dir, against real
//! peers (sipp, a real SMTP server, real fax files). One test binary for all.

mod browser;
mod callbacks;
mod cli;
mod fax;
mod kpi;
mod layering;
mod mail;
mod ops;
mod orders;
mod orders_console;
mod promises;
mod sip;
mod support;
mod torture;
mod web;
