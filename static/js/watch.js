// M4S watch page: get a token from the portal, send the offer to the media server, play.
// The page polls the session state and stops the stream when the job leaves "in progress".
(function () {
  "use strict";
  var box = document.getElementById("watch");
  var video = document.getElementById("watch-video");
  if (!box || !video || !box.dataset.stateUrl) { return; }
  var msg = document.getElementById("watch-message");
  var stopForm = document.getElementById("watch-stop-form");
  var csrf = (stopForm.querySelector("input[name=csrf_token]") || {}).value || "";
  var pc = null;
  var busy = false;
  var timer = null;

  function say(key) { if (msg && msg.dataset[key]) { msg.textContent = msg.dataset[key]; } }

  function hangUp() {
    if (pc) { pc.close(); pc = null; }
    video.srcObject = null;
  }

  function waitForIce(conn) {
    // Send the offer with every candidate in it (no trickle ICE over plain HTTP).
    return new Promise(function (resolve) {
      if (conn.iceGatheringState === "complete") { resolve(); return; }
      var done = function () {
        if (conn.iceGatheringState === "complete") {
          conn.removeEventListener("icegatheringstatechange", done);
          resolve();
        }
      };
      conn.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
  }

  async function play() {
    busy = true;
    say("connecting");
    try {
      var r = await fetch(box.dataset.tokenUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
      });
      if (!r.ok) { throw new Error("token " + r.status); }
      var grant = await r.json();
      pc = new RTCPeerConnection();
      pc.addTransceiver("video", {direction: "recvonly"});
      pc.ontrack = function (evt) { video.srcObject = evt.streams[0] || new MediaStream([evt.track]); };
      pc.onconnectionstatechange = function () {
        if (!pc) { return; }
        if (pc.connectionState === "connected") { say("playing"); }
        if (pc.connectionState === "failed" || pc.connectionState === "closed") { hangUp(); say("failed"); }
      };
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIce(pc);
      var answer = await fetch(grant.media_url.replace(/\/$/, "") + "/offer", {
        method: "POST", mode: "cors", credentials: "omit",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({token: grant.token, sdp: pc.localDescription.sdp, type: "offer"})
      });
      if (!answer.ok) { throw new Error("offer " + answer.status); }
      await pc.setRemoteDescription(await answer.json());
    } catch (e) {
      hangUp();
      say("failed");
    } finally {
      busy = false;
    }
  }

  function apply(state) {
    if (state.playable) {
      if (!pc && !busy) { play(); }
      return true;
    }
    hangUp();
    if (state.status === "requested") { say("waiting"); return true; }
    say("ended");
    clearInterval(timer);
    // The job or the session ended: reload so the page shows what can be done now.
    setTimeout(function () { window.location.reload(); }, 1500);
    return false;
  }

  async function poll() {
    try {
      var r = await fetch(box.dataset.stateUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}});
      if (r.ok) { apply(await r.json()); }
    } catch (e) { /* the next poll tries again */ }
  }

  stopForm.addEventListener("submit", function () { hangUp(); });
  if (apply(JSON.parse(box.dataset.state))) { timer = setInterval(poll, 3000); }
})();
