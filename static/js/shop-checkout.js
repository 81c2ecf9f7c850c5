// The online payment page: Stripe's Payment Element offers the intent's methods (card, Alipay,
// WeChat Pay). Alipay redirects and WeChat Pay shows a QR code; every method ends on the
// return page, which shows what our webhook recorded. The order is fulfilled by the webhook.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof window.Stripe !== "function") { return; }
  var stripe = window.Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    var button = document.getElementById("pay-button");
    button.disabled = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
      .then(function (result) {
        if (result.error) {
          document.getElementById("payment-error").textContent = result.error.message;
          button.disabled = false;
        }
      });
  });
})();
