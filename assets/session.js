// When the session ends (signed out elsewhere, removed, expired), the page's next request to
// the server gets a 401: go to the sign-in page, and come back here afterwards.
(function () {
  const send = window.fetch;
  window.fetch = function (...args) {
    return send.apply(this, args).then((response) => {
      const url = typeof args[0] === "string" ? args[0] : (args[0] && args[0].url) || "";
      if (response.status === 401 && url.includes("/_dash-")) {
        const here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
