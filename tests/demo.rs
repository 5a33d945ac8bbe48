//! The whole Rentory journey through the public API, step by step, against any running
//! stack: `make demo` runs it against `make run`, and the black-box suite runs the same
//! [`run`] against a test stack, so the demo cannot rot unnoticed.
//!
//! Three people take part: a landlord, a tenant and a compliance officer made by an ADMIN.
//! Every step checks what a user would see and fails the run, with the answer that surprised
//! it, as soon as something differs.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use reqwest::multipart::Form;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    Registrant, SocketIoClient, analyze_form, fixtures, image_part, registration_form,
    start_date_in_a_week, status_and_json,
};

/// Where the demo runs and who opens the doors.
pub struct Target {
    /// The gateway, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// An ACTIVE ADMIN's e-mail and PIN (`make demo` makes one with identity's create-admin).
    pub admin_email: String,
    pub admin_pin: String,
}

/// What the journey produced, for callers that look further.
#[derive(Debug)]
pub struct Outcome {
    pub steps: usize,
    pub property_id: String,
    pub lease_id: String,
    pub session_id: String,
}

/// A signed-in person.
struct Person {
    id: String,
    email: String,
    pin: String,
    token: String,
    verification_request_id: Option<String>,
}

/// The landlord's phone, as registered and as the contact gate shows it once paid for.
const LANDLORD_PHONE: &str = "+234 803 555 0142";
const LANDLORD_PHONE_E164: &str = "+2348035550142";
const LISTING_ADDRESS: &str = "14 Herbert Macaulay Way, Yaba, Lagos";
const YABA: (f64, f64) = (6.5095, 3.3711);
const PRICE_KOBO: i64 = 350_000_000;
/// A PIN that passes the common-PIN rules.
const PIN: &str = "482917";
const PASSWORD: &str = "correct horse battery";

/// Runs the journey, printing one line per step to `out`; the first failure ends it.
pub async fn run(target: &Target, out: &mut (dyn Write + Send)) -> anyhow::Result<Outcome> {
    let mut demo = Demo {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("rentory-demo")
            .build()?,
        base: target.base.trim_end_matches('/').to_owned(),
        out,
        step: 0,
        run_tag: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
    };
    let started = Instant::now();
    writeln!(
        demo.out,
        "Rentory demo against {} (run {})",
        demo.base, demo.run_tag
    )?;
    let outcome = demo.journey(target).await;
    match &outcome {
        Ok(_) => writeln!(
            demo.out,
            "demo passed: {} steps in {:.1} s",
            demo.step,
            started.elapsed().as_secs_f64()
        )?,
        Err(e) => writeln!(demo.out, "demo FAILED at step {}: {e:#}", demo.step)?,
    }
    outcome
}

struct Demo<'a> {
    http: reqwest::Client,
    base: String,
    out: &'a mut (dyn Write + Send),
    step: usize,
    /// Tells this run's people and listing apart from earlier runs against the same stack.
    run_tag: String,
}

impl Demo<'_> {
    async fn journey(&mut self, target: &Target) -> anyhow::Result<Outcome> {
        // --- people ---------------------------------------------------------------------
        let t = self.begin("the ADMIN signs in");
        let admin = self
            .sign_in(&target.admin_email, &target.admin_pin)
            .await
            .with_context(|| {
                format!(
                    "signing in as the ADMIN at {} (is the stack up? `make run` starts it)",
                    self.base
                )
            })?;
        self.done(t, &admin.email)?;

        let t = self.begin("the ADMIN creates a compliance officer, who signs in");
        let officer_email = self.email("officer");
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/admin/staff",
                &admin.token,
                json!({"email": officer_email, "password": PASSWORD, "pin": PIN,
                       "full_name": "Ngozi Compliance", "position": "COMPLIANCE_OFFICER",
                       "phone": "08031234000"}),
            )
            .await?;
        expect(status, 201, "creating the officer", &body)?;
        let officer = self.sign_in(&officer_email, PIN).await?;
        self.done(t, &officer.email)?;

        let t = self.begin("a landlord registers with her ID and a face scan");
        let landlord = self
            .register("LANDLORD", "Chiamaka Eze", LANDLORD_PHONE)
            .await?;
        self.done(t, &format!("{} is PENDING", landlord.email))?;

        let t = self.begin("a tenant registers with his ID and a face scan");
        let tenant = self
            .register("TENANT", "Tunde Bakare", "+234 805 444 5566")
            .await?;
        self.done(t, &format!("{} is PENDING", tenant.email))?;

        let t = self.begin("the officer approves both verifications");
        for person in [&landlord, &tenant] {
            let request = person
                .verification_request_id
                .as_deref()
                .context("a registration without a verification request")?;
            let (status, body) = self
                .send_json(
                    reqwest::Method::POST,
                    &format!("/kyc/requests/{request}/approve"),
                    &officer.token,
                    json!({}),
                )
                .await?;
            expect(status, 200, "approving a verification", &body)?;
        }
        let landlord = self.wait_active(landlord).await?;
        let tenant = self.wait_active(tenant).await?;
        self.done(t, "both ACTIVE")?;

        // --- the listing ----------------------------------------------------------------
        let t = self.begin("the landlord's photos become a draft listing (AI analysis)");
        let form = analyze_form(
            vec![
                image_part(fixtures::JPEG_64X48_EXIF_RESTART, "front.jpg", "image/jpeg"),
                image_part(fixtures::PNG_16, "kitchen.png", "image/png"),
                image_part(fixtures::WEBP_16_LOSSY, "bath.webp", "image/webp"),
            ],
            "3 bedroom flat, borehole, standby generator, 24/7 security",
            LISTING_ADDRESS,
            None,
        );
        let (status, analysis) = self
            .multipart("/properties/analyze", Some(&landlord.token), form)
            .await?;
        expect(status, 201, "analysing the photos", &analysis)?;
        let title = text(&analysis["title"]);
        let price = match analysis["suggested_price"].as_str() {
            Some(price) => format!("suggested NGN {price}"),
            None => "no price suggested (no comparable listings nearby)".to_owned(),
        };
        self.done(t, &format!("\"{title}\", {price}"))?;

        let t = self.begin("the landlord publishes it");
        let (status, property) = self
            .send_json(
                reqwest::Method::POST,
                "/properties",
                &landlord.token,
                json!({"analysis_id": analysis["analysis_id"], "price_kobo": PRICE_KOBO,
                       "latitude": YABA.0, "longitude": YABA.1}),
            )
            .await?;
        expect(status, 201, "publishing the listing", &property)?;
        ensure!(property["status"] == "ACTIVE", "not ACTIVE: {property}");
        let property_id = text(&property["id"]);
        self.done(t, &format!("{property_id} ACTIVE at NGN 3,500,000 a year"))?;

        // --- the tenant finds it --------------------------------------------------------
        let t = self.begin("the tenant tells the concierge what he wants");
        let (status, answer) = self
            .send_json(
                reqwest::Method::POST,
                "/concierge/messages",
                &tenant.token,
                json!({"message": "I need a 3 bedroom flat in Yaba with constant light, budget 4m a year"}),
            )
            .await?;
        expect(status, 200, "talking to the concierge", &answer)?;
        let version = answer["persona"]["version"]
            .as_u64()
            .with_context(|| format!("no persona version: {answer}"))?;
        let place = text(&answer["persona"]["locations"][0]["name"]);
        ensure!(
            place == "Yaba",
            "the persona's place is {place:?}: {answer}"
        );
        self.done(t, &format!("persona v{version}: Yaba, budget NGN 4m"))?;

        let t = self.begin("discovery ranks the new listing first for him");
        let page = self
            .poll("discovery with the new persona", || async {
                let (status, page) = self.get("/properties/discover", &tenant.token).await?;
                Ok((status == 200 && page["persona_version"] == version).then_some(page))
            })
            .await?;
        let first = &page["items"][0];
        ensure!(
            first["property"]["id"] == property_id.as_str(),
            "another listing ranks first: {page}"
        );
        self.done(
            t,
            &format!(
                "#1 of {}, score {}: {}",
                page["items"].as_array().map_or(0, Vec::len),
                first["match_score"],
                reasons(&first["match_reasons"])
            ),
        )?;

        // --- chat -----------------------------------------------------------------------
        let t = self.begin("they chat over Socket.IO; the landlord's number is masked");
        let (status, session) = self
            .send_json(
                reqwest::Method::POST,
                "/chat/sessions",
                &tenant.token,
                json!({"property_id": property_id}),
            )
            .await?;
        expect(status, 200, "opening the chat", &session)?;
        let session_id = text(&session["id"]);
        let mut tenant_socket = self.socket(&tenant).await?;
        let mut landlord_socket = self.socket(&landlord).await?;
        for socket in [&mut tenant_socket, &mut landlord_socket] {
            let joined = socket
                .ack("join", json!({"session_id": session_id}))
                .await?;
            ensure!(
                joined["id"] == session_id.as_str(),
                "join answered {joined}"
            );
        }
        let hello = tenant_socket
            .ack(
                "message",
                json!({"session_id": session_id, "content": "Good day ma, is the flat still available?"}),
            )
            .await?;
        let heard = landlord_socket.expect_event("message").await?;
        ensure!(heard["id"] == hello["id"], "the landlord heard {heard}");
        let number = "Yes. Call me on 0803 555 0142";
        let reply = landlord_socket
            .ack(
                "message",
                json!({"session_id": session_id, "content": number}),
            )
            .await?;
        let seen = next_message(&mut tenant_socket, &reply["id"]).await?;
        let shown = text(&seen["content"]);
        ensure!(
            !shown.contains("555 0142") && !shown.contains("0803"),
            "the number reached the tenant before the unlock: {seen}"
        );
        self.done(t, &format!("the tenant sees \"{shown}\""))?;

        // --- the contact unlock ----------------------------------------------------------
        let t = self.begin("the tenant pays NGN 5,000 to unlock the contact");
        let contact_path = format!("/properties/{property_id}/contact");
        let (status, locked) = self.get(&contact_path, &tenant.token).await?;
        expect(status, 402, "the contact before paying", &locked)?;
        let (status, checkout) = self
            .send_json(
                reqwest::Method::POST,
                "/payments/contact-unlock",
                &tenant.token,
                json!({"property_id": property_id}),
            )
            .await?;
        expect(status, 200, "starting the unlock", &checkout)?;
        ensure!(checkout["amount_kobo"] == 500_000, "{checkout}");
        self.pay(&checkout).await?;
        self.done(t, &format!("reference {}", text(&checkout["reference"])))?;

        let t = self.begin("the contact opens and the chat shows the number");
        let contact = self
            .poll("the contact to open", || async {
                let (status, contact) = self.get(&contact_path, &tenant.token).await?;
                Ok((status == 200).then_some(contact))
            })
            .await?;
        ensure!(
            contact["phone"] == LANDLORD_PHONE_E164 && contact["full_name"] == "Chiamaka Eze",
            "the contact: {contact}"
        );
        let history = format!("/chat/sessions/{session_id}/messages?limit=1");
        self.poll("the chat history unmasked", || async {
            let (status, page) = self.get(&history, &tenant.token).await?;
            Ok((status == 200 && page["items"][0]["content"] == number).then_some(()))
        })
        .await?;
        tenant_socket.close().await?;
        landlord_socket.close().await?;
        self.done(
            t,
            &format!(
                "{} {}",
                text(&contact["full_name"]),
                text(&contact["phone"])
            ),
        )?;

        // --- the lease ------------------------------------------------------------------
        let t = self.begin("the landlord drafts the lease (AI legal drafter)");
        let (status, lease) = self
            .send_json(
                reqwest::Method::POST,
                "/leases",
                &landlord.token,
                json!({"property_id": property_id, "tenant_id": tenant.id,
                       "terms": {"rent_kobo": PRICE_KOBO, "rent_period": "YEAR",
                                 "duration_months": 12, "start_date": start_date_in_a_week(),
                                 "deposit_kobo": 35_000_000,
                                 "negotiation_points": ["The landlord services the generator every quarter."]}}),
            )
            .await?;
        expect(status, 201, "drafting the lease", &lease)?;
        let lease_id = text(&lease["id"]);
        let content = text(&lease["content"]);
        let hash = text(&lease["content_sha256"]);
        ensure!(
            hex::encode(Sha256::digest(content.as_bytes())) == hash,
            "content_sha256 is not the hash of the content"
        );
        self.done(
            t,
            &format!("{lease_id}: {} characters, DRAFT", content.len()),
        )?;

        let t = self.begin("both sign the same text");
        let sign_path = format!("/leases/{lease_id}/sign");
        let (status, signed) = self
            .send_json(
                reqwest::Method::PATCH,
                &sign_path,
                &tenant.token,
                json!({"content_sha256": hash}),
            )
            .await?;
        expect(status, 200, "the tenant's signature", &signed)?;
        let (status, signed) = self
            .send_json(
                reqwest::Method::PATCH,
                &sign_path,
                &landlord.token,
                json!({"content_sha256": hash}),
            )
            .await?;
        expect(status, 200, "the landlord's signature", &signed)?;
        ensure!(signed["status"] == "PENDING_ADMIN", "{signed}");
        self.done(t, "PENDING_ADMIN")?;

        let t = self.begin("compliance authorizes it");
        let (status, authorized) = self
            .send_json(
                reqwest::Method::POST,
                &format!("/leases/{lease_id}/authorize"),
                &officer.token,
                json!({"content_sha256": hash}),
            )
            .await?;
        expect(status, 200, "authorizing", &authorized)?;
        ensure!(authorized["status"] == "FULLY_SIGNED", "{authorized}");
        let (status, audit) = self
            .get(&format!("/leases/{lease_id}/audit"), &tenant.token)
            .await?;
        expect(status, 200, "reading the audit", &audit)?;
        let rows = audit.as_array().cloned().unwrap_or_default();
        ensure!(rows.len() >= 4, "{} audit rows: {audit}", rows.len());
        ensure!(
            rows.windows(2).all(|w| w[1]["prev_hash"] == w[0]["hash"]),
            "the audit rows are not chained: {audit}"
        );
        let rows = rows.len();
        self.done(t, &format!("FULLY_SIGNED; {rows} audit rows, chained"))?;

        let t = self.begin("the tenant pays the first year's rent");
        let (status, checkout) = self
            .send_json(
                reqwest::Method::POST,
                "/payments/rent",
                &tenant.token,
                json!({"lease_id": lease_id}),
            )
            .await?;
        expect(status, 200, "starting the rent payment", &checkout)?;
        ensure!(checkout["amount_kobo"] == PRICE_KOBO, "{checkout}");
        self.pay(&checkout).await?;
        let rent_path = format!("/leases/{lease_id}/rent");
        let rent = self
            .poll("the rent receipt", || async {
                let (status, rent) = self.get(&rent_path, &tenant.token).await?;
                Ok(
                    (status == 200 && rent["payments"].as_array().is_some_and(|p| !p.is_empty()))
                        .then_some(rent),
                )
            })
            .await?;
        let receipt = text(&rent["payments"][0]["receipt_number"]);
        ensure!(receipt.starts_with("RR-"), "{rent}");
        self.done(
            t,
            &format!(
                "receipt {receipt}, paid in full: {}",
                rent["next_due"]["paid_in_full"]
            ),
        )?;

        // Leaves the stack as a person would: the let flat comes off the market, so the next
        // run's listing is not competing with this one.
        let t = self.begin("the landlord takes the let flat off the market");
        let (status, archived) = self
            .send_json(
                reqwest::Method::DELETE,
                &format!("/properties/{property_id}"),
                &landlord.token,
                Value::Null,
            )
            .await?;
        expect(status, 200, "archiving the listing", &archived)?;
        self.done(t, "ARCHIVED")?;

        Ok(Outcome {
            steps: self.step,
            property_id,
            lease_id,
            session_id,
        })
    }

    fn begin(&mut self, what: &'static str) -> (Instant, &'static str) {
        self.step += 1;
        (Instant::now(), what)
    }

    fn done(
        &mut self,
        (started, what): (Instant, &'static str),
        detail: &str,
    ) -> anyhow::Result<()> {
        writeln!(
            self.out,
            "{:>3}. {what:<62} ok  {:>6} ms  {detail}",
            self.step,
            started.elapsed().as_millis()
        )?;
        self.out.flush()?;
        Ok(())
    }

    fn email(&self, who: &str) -> String {
        format!("demo-{who}-{}@example.ng", self.run_tag)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        status_and_json(response).await
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if !body.is_null() {
            request = request.json(&body);
        }
        status_and_json(request.send().await?).await
    }

    async fn multipart(
        &self,
        path: &str,
        token: Option<&str>,
        form: Form,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.post(self.url(path)).multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        status_and_json(request.send().await?).await
    }

    async fn sign_in(&self, email: &str, pin: &str) -> anyhow::Result<Person> {
        let response = self
            .http
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "pin": pin}))
            .send()
            .await?;
        let (status, body) = status_and_json(response).await?;
        expect(status, 200, "signing in", &body)?;
        person(&body, email, pin)
    }

    async fn register(&self, role: &str, full_name: &str, phone: &str) -> anyhow::Result<Person> {
        let email = self.email(&role.to_lowercase());
        let form = registration_form(&Registrant {
            email: &email,
            password: PASSWORD,
            pin: PIN,
            role,
            full_name,
            phone,
            bio: "",
        });
        let (status, body) = self.multipart("/auth/register", None, form).await?;
        expect(status, 201, "registering", &body)?;
        ensure!(body["user"]["status"] == "PENDING", "{body}");
        person(&body, &email, PIN)
    }

    /// Waits until identity has applied the approval (an event away), then signs in again
    /// so the access token carries the new status.
    async fn wait_active(&self, who: Person) -> anyhow::Result<Person> {
        self.poll("the account to become ACTIVE", || async {
            let (status, me) = self.get("/me", &who.token).await?;
            Ok((status == 200 && me["user"]["status"] == "ACTIVE").then_some(()))
        })
        .await?;
        let mut active = self.sign_in(&who.email, &who.pin).await?;
        active.verification_request_id = who.verification_request_id;
        Ok(active)
    }

    async fn socket(&self, who: &Person) -> anyhow::Result<SocketIoClient> {
        let mut client = SocketIoClient::spawn(&self.base, Some(&["websocket"])).await?;
        client.connect(&who.token).await?;
        Ok(client)
    }

    /// Pays a checkout the way a person does at the payment page. Locally that page is the
    /// checkout simulator, which then sends Paystack's signed webhook to the gateway.
    async fn pay(&self, checkout: &Value) -> anyhow::Result<()> {
        let page = checkout["authorization_url"]
            .as_str()
            .with_context(|| format!("no authorization_url: {checkout}"))?;
        let shown = self.http.get(page).send().await?;
        ensure!(
            shown.status().is_success(),
            "the payment page answered {}",
            shown.status()
        );
        let paid = self
            .http
            .post(page)
            .form(&[("action", "pay")])
            .send()
            .await?;
        if !paid.status().is_success() {
            bail!(
                "paying at {page} answered {} (is the checkout simulator running? make run starts it when no Paystack key is set)",
                paid.status()
            );
        }
        Ok(())
    }

    /// Polls `check` every 100 ms for up to 30 s until it answers something.
    async fn poll<T, F, Fut>(&self, what: &str, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let last = match check().await {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => None,
                Err(e) => Some(e),
            };
            if Instant::now() >= deadline {
                bail!("waited 30 s for {what}; last error: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn expect(status: u16, wanted: u16, what: &str, body: &Value) -> anyhow::Result<()> {
    ensure!(
        status == wanted,
        "{what} answered {status}, not {wanted}: {body}"
    );
    Ok(())
}

fn person(body: &Value, email: &str, pin: &str) -> anyhow::Result<Person> {
    let field = |v: &Value, name: &str| {
        v.as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {name} in {body}"))
    };
    Ok(Person {
        id: field(&body["user"]["id"], "user.id")?,
        token: field(&body["access_token"], "access_token")?,
        verification_request_id: body["verification_request_id"].as_str().map(str::to_owned),
        email: email.to_owned(),
        pin: pin.to_owned(),
    })
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn reasons(v: &Value) -> String {
    v.as_array()
        .map(|r| r.iter().map(text).collect::<Vec<_>>().join("; "))
        .unwrap_or_default()
}

/// The `message` event with `id`, skipping others.
async fn next_message(client: &mut SocketIoClient, id: &Value) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let mut line = client
            .next_event("message", left)
            .await?
            .with_context(|| format!("message {id} never arrived"))?;
        if line["data"]["id"] == *id {
            return Ok(line["data"].take());
        }
    }
}
