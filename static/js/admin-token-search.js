// Support admin, token list: a full token pasted in the search box never goes into a URL.
// The search form submits by GET; a token-shaped value is sent to "Find by token value"
// by POST instead (the server also refuses to search or echo one, for browsers without JS).
(function () {
  "use strict";

  var TOKEN = /^kw[ua]_[0-9A-Za-z]{38}$/;

  document.addEventListener("submit", function (event) {
    var search = event.target;
    if (!search || search.id !== "changelist-search") return;
    var box = search.querySelector("input[name=q]");
    var find = document.getElementById("find-by-value");
    if (!box || !find) return;
    var value = box.value.trim();
    if (!TOKEN.test(value)) return;
    event.preventDefault();
    find.querySelector("input[name=value]").value = value;
    box.value = "";
    find.submit();
  });
})();
