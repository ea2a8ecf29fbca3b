// Passkeys and security keys (SPEC 16), on top of allauth's webauthn-json (mfa/js/webauthn-json.js).
// No inline script (the CSP forbids it): the pages mark their buttons and this file wires them.
//
//   <button type="button" data-passkey="create|get|sign-in" hidden> inside a <form> that has
//   <input type="hidden" name="credential">; "create" and "get" read their options from the
//   JSON block named by data-passkey-options; "sign-in" fetches them from the form's action.
//   [data-passkey-supported] elements are shown, [data-passkey-unsupported] hidden, when the
//   browser can use passkeys; [data-passkey-status] in the form says what went wrong.
(function () {
  "use strict";

  var json = window.webauthnJSON;
  var supported = !!(json && json.supported && json.supported());

  function options(button) {
    var block = document.getElementById(button.getAttribute("data-passkey-options"));
    return JSON.parse(block.textContent);
  }

  // As allauth's own script: ask for a passkey (a resident key that verifies the person)
  // when "Sign in with it alone" is ticked, else for a security key used after the password.
  function creationOptions(button, form) {
    var creation = JSON.parse(JSON.stringify(options(button)));
    var alone = form.querySelector("input[name=passwordless]");
    var selection = creation.publicKey.authenticatorSelection || {};
    var passwordless = !alone || alone.checked;
    selection.residentKey = passwordless ? "required" : "discouraged";
    selection.requireResidentKey = passwordless;
    if (passwordless) selection.userVerification = "required";
    creation.publicKey.authenticatorSelection = selection;
    return creation;
  }

  function requestOptions(form) {
    return fetch(form.getAttribute("action"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("Keyward did not answer (" + response.status + ").");
      return response.json();
    }).then(function (data) { return data.request_options; });
  }

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") {
      return "No passkey was used: the request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This passkey is added already. Use another device or key.";
    }
    if (error && error.name === "SecurityError") {
      return "Passkeys need Keyward on a domain name over HTTPS (or http://localhost), not an IP address: open " +
        location.protocol + "//localhost" + (location.port ? ":" + location.port : "") + location.pathname + " instead.";
    }
    return "Your browser could not use a passkey here" + (error && error.message ? ": " + error.message : ".");
  }

  function run(button) {
    var form = button.form;
    var mode = button.getAttribute("data-passkey");
    var name = form.querySelector("input[name=name]");
    if (name && !name.reportValidity()) return;
    say(form, "Waiting for your passkey…");
    button.disabled = true;
    var credential;
    if (mode === "create") {
      credential = json.create(creationOptions(button, form));
    } else if (mode === "get") {
      credential = json.get(options(button));
    } else {
      credential = requestOptions(form).then(function (request) { return json.get(request); });
    }
    credential.then(function (answer) {
      form.querySelector("input[name=credential]").value = JSON.stringify(answer);
      say(form, "Checking…");
      form.submit();
    }, function (error) {
      button.disabled = false;
      say(form, explain(error));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-passkey-supported]").forEach(function (node) { node.hidden = !supported; });
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (node) { node.hidden = supported; });
    if (!supported) return;
    document.querySelectorAll("button[data-passkey]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        run(button);
      });
    });
  });
})();
